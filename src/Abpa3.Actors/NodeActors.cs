using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Persistence;
using Abpa3.Actors.Remoting;
using Abpa3.Actors.Scans;
using Abpa3.Actors.Sensor;
using Abpa3.Actors.Serialization;
using Abpa3.Actors.Sync;

namespace Abpa3.Actors;

/// <summary>Everything the actor system of one node needs, registered from one place (the host and the tests call this).</summary>
public static class NodeActors
{
    public static AkkaConfigurationBuilder AddNodeActors(
        this AkkaConfigurationBuilder builder, Config config, NodeSettings settings, NodeIdentity identity,
        PeerCertificatePins pins, PeerLinkCounters counters, TimeProvider clock) =>
        builder
            .AddHocon(config, HoconAddMode.Prepend)
            .WithCustomSerializer(MeshJsonSerializer.Name, [typeof(IPersistedMessage)], system => new MeshJsonSerializer(system))
            .WithCustomSerializer(PeerWireSerializer.Name, [typeof(PeerWire)], system => new PeerWireSerializer(system))
            .WithSqliteJournal(settings.DataDir)
            .WithPeerRemoting(identity, pins, settings.Bind, settings.RemotePort, settings.RemotePublicPort)
            .AddDeviceSupervisor(identity, DeviceSettings.FromConfig(config), PairingSettings.FromConfig(config),
                PeerLinkSettings.FromConfig(config), counters, pins, DevicePairingSettings.FromConfig(config),
                SensorSettings.FromConfig(config), ScanSettings.FromConfig(config), clock)
            .AddSync(SyncSettings.FromConfig(config), clock);

    /// <summary>The address peers reach this node's actor system at (with the real port when 0 was configured).</summary>
    public static string RemoteAddress(ActorSystem system) => ((ExtendedActorSystem)system).Provider.DefaultAddress.ToString();
}
