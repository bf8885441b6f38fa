using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;

namespace Abpa3.Actors.Sync;

/// <summary>Messages the <see cref="SessionRegistry"/> answers.</summary>
public static class SessionRegistryProtocol
{
    /// <summary>Open a session for an authenticated socket; answered with <see cref="SessionOpened"/>.</summary>
    public sealed record OpenSession(string DeviceId, bool IsClientDevice, SessionOutbox Outbox);

    public sealed record SessionOpened(IActorRef Session, string SessionId);

    /// <summary>No session: the device was revoked while its socket was being authenticated, or has too many open.</summary>
    public sealed record SessionRefused(string DeviceId, int CloseCode, string Reason);

    /// <summary>Answered with <see cref="OnlineDevices"/>: the devices with at least one open session.</summary>
    public sealed class GetOnlineDevices
    {
        public static readonly GetOnlineDevices Instance = new();
        private GetOnlineDevices() { }
    }

    public sealed record OnlineDevices(IReadOnlySet<string> DeviceIds);

    /// <summary>Published on the event stream when a client device's first session opens or its last one closes.</summary>
    public sealed record PresenceChanged(string DeviceId, bool Online);
}

/// <summary>
/// Parent of every <see cref="SessionActor"/> of the node: knows which device each belongs to, so a
/// revocation closes that device's sockets at once and the registry can say who is online.
/// </summary>
public sealed class SessionRegistry : ReceiveActor
{
    private readonly Dictionary<IActorRef, (string DeviceId, bool IsClientDevice)> _deviceBySession = new();
    private readonly Dictionary<string, HashSet<IActorRef>> _sessionsByDevice = new();
    /// <summary>Revoked since start: a socket authenticated just before its revocation must not open a session after it.</summary>
    private readonly HashSet<string> _revoked = [];

    public SessionRegistry(string epoch, IActorRef hub, IActorRef activity, SyncSettings settings)
    {
        Receive<SessionRegistryProtocol.OpenSession>(open =>
        {
            if (_revoked.Contains(open.DeviceId))
            {
                Sender.Tell(new SessionRegistryProtocol.SessionRefused(open.DeviceId, SessionCloseCodes.Revoked, "device revoked"));
                return;
            }
            if (_sessionsByDevice.TryGetValue(open.DeviceId, out var alreadyOpen) && alreadyOpen.Count >= settings.MaxSessionsPerDevice)
            {
                Sender.Tell(new SessionRegistryProtocol.SessionRefused(open.DeviceId, SessionCloseCodes.RateLimited, "too many open sessions for this device"));
                return;
            }
            var sessionId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            var session = Context.ActorOf(
                SessionActor.Props(sessionId, open.DeviceId, open.IsClientDevice, epoch, hub, activity, open.Outbox),
                "session-" + sessionId);
            Context.Watch(session);
            _deviceBySession[session] = (open.DeviceId, open.IsClientDevice);
            if (!_sessionsByDevice.TryGetValue(open.DeviceId, out var sessions))
            {
                _sessionsByDevice[open.DeviceId] = sessions = [];
                if (open.IsClientDevice) // presence is about paired devices, not the owner's browser tabs
                    Context.System.EventStream.Publish(new SessionRegistryProtocol.PresenceChanged(open.DeviceId, Online: true));
            }
            sessions.Add(session);
            Sender.Tell(new SessionRegistryProtocol.SessionOpened(session, sessionId));
        });
        Receive<PairingQueries.ClientRevokedNotice>(revoked =>
        {
            _revoked.Add(revoked.DeviceId);
            if (!_sessionsByDevice.TryGetValue(revoked.DeviceId, out var sessions))
                return;
            foreach (var session in sessions)
                session.Tell(new SessionActor.CloseSession(SessionCloseCodes.Revoked, "device revoked"));
        });
        Receive<SessionRegistryProtocol.GetOnlineDevices>(_ =>
            Sender.Tell(new SessionRegistryProtocol.OnlineDevices(_sessionsByDevice.Keys.ToHashSet())));
        Receive<Terminated>(terminated =>
        {
            if (!_deviceBySession.Remove(terminated.ActorRef, out var owner))
                return;
            var deviceId = owner.DeviceId;
            var sessions = _sessionsByDevice[deviceId];
            sessions.Remove(terminated.ActorRef);
            if (sessions.Count > 0)
                return;
            _sessionsByDevice.Remove(deviceId);
            if (owner.IsClientDevice)
                Context.System.EventStream.Publish(new SessionRegistryProtocol.PresenceChanged(deviceId, Online: false));
        });
    }

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(PairingQueries.ClientRevokedNotice));

    /// <summary>A failing session is stopped, never restarted: its socket is gone with it.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    public static Props Props(string epoch, IActorRef hub, IActorRef activity, SyncSettings settings) =>
        Akka.Actor.Props.Create(() => new SessionRegistry(epoch, hub, activity, settings));
}

public static class SyncRegistration
{
    /// <summary>
    /// Starts the node's <see cref="SyncHub"/> and <see cref="SessionRegistry"/> under a fresh epoch
    /// (replay buffers live in memory, so a restart is a new epoch).
    /// </summary>
    public static AkkaConfigurationBuilder AddSync(this AkkaConfigurationBuilder builder, SyncSettings settings, TimeProvider clock) =>
        builder.WithActors((system, registry) =>
        {
            var epoch = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
            var hub = system.ActorOf(SyncHub.Props(epoch, settings, clock), "sync-hub");
            var device = registry.Get<DeviceSupervisor>();
            registry.Register<SyncHub>(hub);
            registry.Register<SessionRegistry>(system.ActorOf(SessionRegistry.Props(epoch, hub, device, settings), "sessions"));
        });
}
