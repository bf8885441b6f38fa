using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Persistence;
using Abpa3.Actors.Remoting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Abpa3.Actors.Tests.Support;

/// <summary>
/// The actor side of a real node (production registration, real SQLite file, TLS remoting on a free
/// loopback port) without the HTTP edge. Stopping and starting it on the same directory is a restart.
/// </summary>
public sealed class ActorNode : IAsyncDisposable
{
    private readonly IHost _host;

    private ActorNode(IHost host, NodeIdentity identity, PeerCertificatePins pins, PeerLinkCounters counters)
    {
        _host = host;
        Identity = identity;
        Pins = pins;
        Counters = counters;
    }

    public PeerLinkCounters Counters { get; }

    public NodeIdentity Identity { get; }
    public PeerCertificatePins Pins { get; }
    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();
    public IActorRef Supervisor => _host.Services.GetRequiredService<IRequiredActor<DeviceSupervisor>>().ActorRef;

    public static Config TestConfig(string dataDir, IReadOnlyDictionary<string, string>? overrides = null)
    {
        var all = new Dictionary<string, string>
        {
            ["abpa3.node.data-dir"] = dataDir,
            ["abpa3.node.bind"] = "127.0.0.1",
            ["abpa3.node.remote-port"] = "0",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
            all[key] = value;
        return MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(all);
    }

    /// <param name="extraHocon">HOCON that wins over everything else (for what a test needs beyond the shipped settings).</param>
    public static async Task<ActorNode> StartAsync(string dataDir, IReadOnlyDictionary<string, string>? overrides = null, string? extraHocon = null)
    {
        var config = TestConfig(dataDir, overrides);
        if (extraHocon is not null)
            config = Akka.Configuration.ConfigurationFactory.ParseString(extraHocon).WithFallback(config);
        var settings = NodeSettings.FromConfig(config);
        var identity = NodeIdentityStore.LoadOrCreate(settings.DataDir, settings.DeviceId, settings.Name);
        var pins = PeerCertificatePins.InDataDirectory(settings.DataDir);
        var counters = new PeerLinkCounters();
        var host = new HostBuilder()
            .ConfigureLogging(logging => logging.ClearProviders())
            .ConfigureServices(services => services.AddAkka("abpa3", akka => akka
                .AddNodeActors(config, settings, identity, pins, counters, TimeProvider.System)))
            .Build();
        await host.StartAsync();
        return new ActorNode(host, identity, pins, counters);
    }

    public async ValueTask DisposeAsync()
    {
        var system = System;
        await _host.StopAsync();
        // Coordinated shutdown leaves the actor system running (hocon/akka.hocon); the node ends it, as MeshNode does.
        await system.Terminate().WaitAsync(TimeSpan.FromSeconds(10));
        _host.Dispose();
        SqliteJournal.Flush();
    }
}
