using Akka.Actor;
using Akka.Hosting;
using Akka.Pattern;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Remoting;
using Abpa3.Actors.Scans;
using Abpa3.Actors.Sensor;
using static Abpa3.Actors.Device.DeviceMessages;
using static Abpa3.Actors.Pairing.PairingQueries;

namespace Abpa3.Actors.Device;

/// <summary>
/// Root of the node: owns the identity and the current <see cref="DeviceLifecycle"/>, supervises the
/// pairing coordinator (restarted with backoff if its journal fails) and routes the edge's requests.
/// Requests that arrive before the coordinator has recovered wait in the stash.
/// </summary>
public sealed class DeviceSupervisor : ReceiveActor, IWithStash, IWithTimers
{
    private sealed class ManagerGraceExpired
    {
        public static readonly ManagerGraceExpired Instance = new();
        private ManagerGraceExpired() { }
    }

    private readonly NodeIdentity _identity;
    private readonly DeviceSettings _settings;
    private readonly IActorRef _pairing;
    private readonly IActorRef _peers;
    private readonly IActorRef _peerPairing;
    private readonly IActorRef _sensor;
    private readonly IActorRef _segments;
    private readonly IActorRef _scans;
    private DeviceLifecycle _lifecycle = DeviceLifecycle.Initial;
    private readonly TimeSpan _managerGracePeriod;
    private int _wrongSetupCodes;
    /// <summary>A paired sensor whose manager has been away longer than the grace period is standalone (not journaled: it ends when the manager is heard).</summary>
    private bool _managerAway;
    private bool _managerOnline;
    private int _stashed;

    public DeviceSupervisor(NodeIdentity identity, DeviceSettings settings, PairingSettings pairingSettings, PeerLink peerLink,
        DevicePairingSettings devicePairing, SensorSettings sensorSettings, ScanSettings scanSettings, TimeProvider clock)
    {
        _identity = identity;
        _settings = settings;
        _managerGracePeriod = sensorSettings.ManagerGracePeriod;
        var coordinator = PairingCoordinator.Props(identity.DeviceId, pairingSettings, Self, clock);
        _pairing = Context.ActorOf(
            BackoffSupervisor.Props(Backoff.OnStop(
                coordinator, "pairing-coordinator",
                pairingSettings.RestartMinBackoff, pairingSettings.RestartMaxBackoff, randomFactor: 0.2, maxNrOfRetries: -1)),
            "pairing");
        _peers = Context.ActorOf(PeerDirectory.Props(peerLink.Local, peerLink.Settings, peerLink.Counters, peerLink.Pins, clock, _pairing),
            PeerDirectory.Name);
        _peerPairing = Context.ActorOf(
            PeerPairingResponder.Props(identity, devicePairing, peerLink.Local.RemoteAddress, _pairing, clock), "peer-pairing");
        var driver = sensorSettings.CreateDriver();
        _sensor = Context.ActorOf(SensorActor.Props(driver, sensorSettings, clock), "sensor");
        // Segment work for this device's manager, and scans this device runs as a manager; each is idle
        // unless the device has that role, and both answer only to authenticated peers.
        _segments = Context.ActorOf(SegmentWorker.Props(identity.DeviceId.Value, driver, sensorSettings, _peers, clock), "segments");
        _scans = Context.ActorOf(ScanCoordinator.Props(identity.DeviceId.Value, _peers, scanSettings, clock), "scans");
        Recovering();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(PeerProxyProtocol.PresenceChanged));

    /// <summary>The lifecycle as the world should see it: a paired sensor whose manager stayed away is standalone.</summary>
    private DeviceLifecycle Reported => _managerAway ? _lifecycle.ManagerUnreachable().Next ?? _lifecycle : _lifecycle;

    /// <summary>A sensor starts counting the grace period whenever its manager is not (yet) heard.</summary>
    private void WatchManager()
    {
        if (_lifecycle.Role == DeviceRole.Sensor && !_managerOnline && !_managerAway)
            Timers.StartSingleTimer(nameof(ManagerGraceExpired), ManagerGraceExpired.Instance, _managerGracePeriod);
        if (_lifecycle.Role != DeviceRole.Sensor)
        {
            Timers.Cancel(nameof(ManagerGraceExpired));
            _managerAway = false;
        }
    }

    protected override SupervisorStrategy SupervisorStrategy() => KillProof.Strategy;

    private void Recovering()
    {
        Receive<LifecycleChanged>(changed =>
        {
            _lifecycle = changed.Lifecycle;
            WatchManager();
            Become(Ready);
            Stash.UnstashAll();
            _stashed = 0;
        });
        ReceiveAny(_ =>
        {
            // Bounded: a flood during a slow recovery is answered "busy" instead of growing memory.
            if (_stashed >= _settings.MaxPendingWhileRecovering)
            {
                Sender.Tell(NodeBusy.Instance);
                return;
            }
            _stashed++;
            Stash.Stash();
        });
    }

    private void Ready()
    {
        Receive<LifecycleChanged>(changed =>
        {
            _lifecycle = changed.Lifecycle;
            WatchManager();
        });
        Receive<PeerProxyProtocol.PresenceChanged>(presence =>
        {
            if (presence.DeviceId != _lifecycle.ManagerDeviceId?.Value)
                return;
            _managerOnline = presence.Online;
            if (presence.Online)
            {
                Timers.Cancel(nameof(ManagerGraceExpired));
                _managerAway = false;
            }
            else
                WatchManager();
        });
        Receive<ManagerGraceExpired>(_ =>
        {
            if (_lifecycle.Role == DeviceRole.Sensor && !_managerOnline)
                _managerAway = true;
        });
        Receive<GetDeviceInfo>(_ => Sender.Tell(new DeviceInfo(
            _identity.DeviceId.Value, _identity.SerialNumber, _identity.Name, _identity.CertSha256, Reported)));
        Receive<CheckSetupCode>(check =>
        {
            if (RefuseSetup(check.SetupCode) is { } refusal)
                Sender.Tell(refusal);
            else
                Sender.Tell(SetupCodeAccepted.Instance);
        });
        Receive<SetupOwner>(setup =>
        {
            if (RefuseSetup(setup.SetupCode) is { } refusal)
                Sender.Tell(refusal);
            else
                _pairing.Forward(new PairingCommands.CreateOwner(setup.Username, setup.PasswordHash));
        });
        Receive<IPairingCommand>(command => _pairing.Forward(command));
        Receive<IPairingQuery>(query => _pairing.Forward(query));
        Receive<IPeerLinkRequest>(request => _peers.Forward(request));
        Receive<PeerPairingProtocol.Begin>(begin =>
        {
            // A target already paired (to another manager, or as a manager itself) says so before any key exchange.
            var sameManager = _lifecycle.Role == DeviceRole.Sensor && _lifecycle.ManagerDeviceId?.Value == begin.ManagerId;
            if (begin.ManagerId == _identity.DeviceId.Value)
                Sender.Tell(new PairingReplies.Refused(RefusalReason.AlreadyPaired, "a device cannot pair with itself"));
            else if (!sameManager && _lifecycle.Role != DeviceRole.None)
                Sender.Tell(new PairingReplies.Refused(RefusalReason.AlreadyPaired,
                    $"the device is already {DeviceLifecycle.Describe(_lifecycle.State)}" + (_lifecycle.IsManager ? " as a manager" : " to another manager")));
            else
                _peerPairing.Forward(begin);
        });
        Receive<IPeerPairingRequest>(request => _peerPairing.Forward(request));
        Receive<SensorProtocol.StartScan>(start => _sensor.Forward(start));
        Receive<SensorProtocol.GetStatus>(status => _sensor.Forward(status));
        Receive<SegmentWorkerQueries.GetBacklog>(backlog => _segments.Forward(backlog));
        Receive<IScanRequest>(request => _scans.Forward(request));
    }

    /// <summary>
    /// Why a setup attempt with this code must fail, or null if it may proceed. State comes first
    /// (once claimed, setup is closed whatever code is offered); after too many wrong codes from
    /// anywhere, setup stays locked until the device restarts, so guessing from many addresses gains nothing.
    /// </summary>
    private PairingReplies.Refused? RefuseSetup(string? code)
    {
        if (_lifecycle.State != DeviceState.Unconfigured)
            return new PairingReplies.Refused(RefusalReason.AlreadyConfigured, "the device already has an owner");
        if (_wrongSetupCodes >= _settings.MaxWrongSetupCodes)
            return new PairingReplies.Refused(RefusalReason.SetupLocked,
                "setup is locked after too many wrong codes; restart the device to try again");
        if (_identity.SetupCode.Matches(code))
            return null;
        _wrongSetupCodes++;
        return new PairingReplies.Refused(RefusalReason.WrongSetupCode, "wrong setup code");
    }

    public static Props Props(NodeIdentity identity, DeviceSettings settings, PairingSettings pairingSettings, PeerLink peerLink,
        DevicePairingSettings devicePairing, SensorSettings sensorSettings, ScanSettings scanSettings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new DeviceSupervisor(identity, settings, pairingSettings, peerLink, devicePairing, sensorSettings, scanSettings, clock));
}

/// <summary>What the peer directory needs from the composition: this node's link identity, the timings, the shared counters and pins.</summary>
public sealed record PeerLink(PeerDirectoryProtocol.LocalLink Local, PeerLinkSettings Settings, PeerLinkCounters Counters, PeerCertificatePins Pins);

public static class DeviceSupervisorRegistration
{
    /// <summary>Starts the node's root actor and registers it for <c>IRequiredActor&lt;DeviceSupervisor&gt;</c>.</summary>
    public static AkkaConfigurationBuilder AddDeviceSupervisor(
        this AkkaConfigurationBuilder builder, NodeIdentity identity, DeviceSettings settings, PairingSettings pairingSettings,
        PeerLinkSettings peerSettings, PeerLinkCounters counters, PeerCertificatePins pins, DevicePairingSettings devicePairing,
        SensorSettings sensorSettings, ScanSettings scanSettings, TimeProvider clock) =>
        builder.WithActors((system, registry) =>
        {
            var local = new PeerDirectoryProtocol.LocalLink(identity.DeviceId.Value, NodeActors.RemoteAddress(system));
            registry.Register<DeviceSupervisor>(system.ActorOf(
                DeviceSupervisor.Props(identity, settings, pairingSettings, new PeerLink(local, peerSettings, counters, pins), devicePairing, sensorSettings, scanSettings, clock),
                "device"));
        });
}
