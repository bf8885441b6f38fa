using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Sensor;
using static Abpa3.Actors.Scans.ScanEvents;

namespace Abpa3.Actors.Scans;

/// <summary>Messages a scan answers, through the <see cref="ScanCoordinator"/>.</summary>
public static class ScanProtocol
{
    /// <summary>Start a new scan over these sensors. Answered with <see cref="ScanAccepted"/> or <see cref="ScanRefused"/>.</summary>
    public sealed record StartScan(string ScanId, ScanParameters Parameters, IReadOnlyList<string> Sensors) : IScanRequest;

    public sealed record ScanAccepted(string ScanId);

    public sealed record ScanRefused(string Reason);

    /// <summary>Answered with <see cref="ScanView"/>, or <see cref="ScanNotFound"/>.</summary>
    public sealed record GetScan(string ScanId) : IScanRequest;

    /// <summary>Answered with <see cref="ScanData"/>, or <see cref="ScanNotFound"/>.</summary>
    public sealed record GetScanData(string ScanId) : IScanRequest;

    /// <summary>Answered with <see cref="ScanView"/> (the scan after cancelling), or <see cref="ScanNotFound"/>.</summary>
    public sealed record CancelScan(string ScanId) : IScanRequest;

    /// <summary>Answered with <see cref="ScanList"/>.</summary>
    public sealed class ListScans : IScanRequest
    {
        public static readonly ListScans Instance = new();
        private ListScans() { }
    }

    public sealed record ScanNotFound(string ScanId);

    public sealed record ScanView(ScanState State, bool Paused, IReadOnlySet<string> OnlineSensors);

    public sealed record ScanData(ScanState State, byte[] Data);

    public sealed record ScanList(IReadOnlyList<ScanView> Scans);

    /// <summary>From the coordinator: a segment result and the sensor whose link it came over.</summary>
    public sealed record ResultFrom(string Sensor, ScanPayloads.SegmentResult Result);

    /// <summary>Published on the event stream for the <c>scans</c> topic.</summary>
    public sealed record ScanChanged(string Change, ScanState State, bool Paused, int? Segment = null, string? Sensor = null, string? From = null);
}

/// <summary>What the device supervisor forwards to the scan coordinator.</summary>
public interface IScanRequest;

/// <summary>
/// One scan on the manager (SPEC §7), persistent: its segments are assigned to sensors, reassigned when a
/// sensor goes offline (or left waiting when none is online, which pauses the scan), given to a sensor
/// that comes back, and completed by the first valid result for each, so every segment counts exactly
/// once. Segment requests are repeated until their result arrives, so a lost message or a restart of
/// either side costs time, not data. A manager restart recovers the scan from its journal and carries on,
/// leaving each segment with its sensor while it waits to hear that sensor again.
/// </summary>
public sealed class ScanActor : ReceivePersistentActor, IWithTimers
{
    private sealed class Retry
    {
        public static readonly Retry Instance = new();
        private Retry() { }
    }

    /// <summary>After a restart of the manager, the time its sensors had to be heard again is up.</summary>
    private sealed class RecoveryGraceOver
    {
        public static readonly RecoveryGraceOver Instance = new();
        private RecoveryGraceOver() { }
    }

    private readonly IActorRef _peers;
    private readonly ScanSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ScanState? _state;
    private HashSet<string> _online = [];
    /// <summary>Until the first presence answer, a scan with nothing assigned is starting, not paused.</summary>
    private bool _presenceKnown;
    /// <summary>
    /// Just recovered: sensors not heard yet are not gone (they kept working while the manager was down), so their
    /// segments stay with them until the grace period is over; whoever is heard meanwhile gets its own segments again.
    /// </summary>
    private bool _inRecoveryGrace;

    public ScanActor(string scanId, IActorRef peers, ScanSettings settings, TimeProvider clock)
    {
        PersistenceId = $"scan-{scanId}";
        _peers = peers;
        _settings = settings;
        _clock = clock;

        Recover<ScanStarted>(e => _state = ScanState.Start(e));
        Recover<IScanEvent>(e => _state = _state?.Apply(e));
        Recover<RecoveryCompleted>(_ =>
        {
            if (_state is not { Phase: ScanPhase.Running })
                return;
            _inRecoveryGrace = true;
            Timers.StartSingleTimer(nameof(RecoveryGraceOver), RecoveryGraceOver.Instance, _settings.RecoveryGrace);
            AskPresence();
        });

        Command<ScanProtocol.StartScan>(Start);
        Command<PeerDirectoryProtocol.Presence>(presence =>
        {
            _online = presence.Peers.Values.Where(p => p.Online).Select(p => p.DeviceId).ToHashSet();
            var first = !_presenceKnown;
            _presenceKnown = true;
            if (first && _state is { Phase: ScanPhase.Running, DoneCount: 0 })
                Announce("started");
            Rebalance();
            SendOutstanding();
        });
        Command<RecoveryGraceOver>(_ =>
        {
            _inRecoveryGrace = false;
            if (_state is { Phase: ScanPhase.Running })
                AskPresence(); // now a sensor still not heard is gone: its segments move
        });
        Command<PeerProxyProtocol.PresenceChanged>(OnPresence);
        Command<ScanProtocol.ResultFrom>(from => HandleResult(from.Sensor, from.Result));
        Command<Retry>(_ => SendOutstanding());
        Command<ScanProtocol.GetScan>(_ => Sender.Tell(View()));
        Command<ScanProtocol.GetScanData>(_ => Sender.Tell(_state is null ? new ScanProtocol.ScanNotFound("") : new ScanProtocol.ScanData(_state, _state.Assemble())));
        Command<ScanProtocol.CancelScan>(_ => Cancel());
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(PeerProxyProtocol.PresenceChanged));

    private object View() => _state is null
        ? new ScanProtocol.ScanNotFound("")
        : new ScanProtocol.ScanView(_state, Paused, _online.Where(_state.Sensors.Contains).ToHashSet());

    private bool Paused => _presenceKnown && _state!.Paused;

    private void Start(ScanProtocol.StartScan start)
    {
        if (_state is not null)
        {
            Sender.Tell(new ScanProtocol.ScanAccepted(_state.ScanId));
            return;
        }
        var p = start.Parameters;
        var requester = Sender;
        Persist(new ScanStarted(start.ScanId, p.Width, p.Height, p.Segments, p.Seed, p.RowsPerSecond, start.Sensors, _clock.GetUtcNow()), e =>
        {
            _state = ScanState.Start(e);
            requester.Tell(new ScanProtocol.ScanAccepted(e.ScanId));
            AskPresence(); // "started" is announced with the first assignment of its segments

        });
    }

    /// <summary>Who is online now; the answer (re)assigns segments and sends them.</summary>
    private void AskPresence()
    {
        _peers.Tell(PeerDirectoryProtocol.GetPresence.Instance);
        Timers.StartPeriodicTimer(nameof(Retry), Retry.Instance, _settings.RetryInterval);
    }

    private void OnPresence(PeerProxyProtocol.PresenceChanged presence)
    {
        if (_state is not { Phase: ScanPhase.Running } || !_state.Sensors.Contains(presence.DeviceId))
            return;
        var changed = presence.Online ? _online.Add(presence.DeviceId) : _online.Remove(presence.DeviceId);
        if (!changed)
            return;
        var wasPaused = Paused;
        Rebalance();
        if (presence.Online)
            SendOutstanding(presence.DeviceId);
        if (wasPaused && !Paused)
            Announce("resumed");
    }

    /// <summary>Persists the reassignments the current presence calls for, and sends the moved segments.</summary>
    private void Rebalance()
    {
        if (_state is null || _inRecoveryGrace)
            return;
        var wasPaused = Paused;
        var events = _state.Rebalance(_online, _clock.GetUtcNow());
        if (events.Count == 0)
            return;
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            switch (e)
            {
                case SegmentAssigned assigned:
                    Send(assigned.Segment, assigned.Sensor);
                    Announce(assigned.From is null ? "assigned" : "reassigned", assigned.Segment, assigned.Sensor, assigned.From);
                    break;
                case SegmentUnassigned unassigned:
                    Announce("unassigned", unassigned.Segment, null, unassigned.From);
                    break;
            }
            if (!wasPaused && Paused)
            {
                wasPaused = true;
                _log.Info("Scan {0} paused: none of its sensors is online", _state.ScanId);
                Announce("paused");
            }
        });
    }

    private void HandleResult(string sensor, ScanPayloads.SegmentResult result)
    {
        var ack = new PeerProxyProtocol.Send(sensor, new ScanPayloads.SegmentAck(result.ScanId, result.Segment));
        if (_state is null)
        {
            _peers.Tell(ack);
            return;
        }
        var events = _state.Complete(result.Segment, sensor, result.Data, _clock.GetUtcNow());
        if (events.Count == 0)
        {
            // A duplicate, a late copy of a reassigned segment, or a result for a finished or cancelled
            // scan: acknowledged so the sensor forgets it, and counted nowhere else.
            if (_state.Phase != ScanPhase.Running || (result.Segment >= 0 && result.Segment < _state.Segments.Length && _state.Segments[result.Segment].Done))
                _peers.Tell(ack);
            else
                _log.Warning("Scan {0}: refused a result for segment {1} from {2} (wrong size or unknown segment)", _state.ScanId, result.Segment, sensor);
            return;
        }
        PersistAll(events, e =>
        {
            _state = _state.Apply(e);
            if (e is SegmentCompleted completed)
            {
                _peers.Tell(ack);
                Announce("segment", completed.Segment, completed.Sensor);
            }
            else if (e is ScanCompleted)
            {
                Timers.Cancel(nameof(Retry));
                _log.Info("Scan {0} completed", _state.ScanId);
                Announce("completed");
            }
        });
    }

    private void Cancel()
    {
        if (_state is null)
        {
            Sender.Tell(new ScanProtocol.ScanNotFound(""));
            return;
        }
        if (_state.Phase != ScanPhase.Running)
        {
            Sender.Tell(View());
            return;
        }
        var requester = Sender;
        Persist(new ScanCancelled(_clock.GetUtcNow()), e =>
        {
            _state = _state.Apply(e);
            Timers.Cancel(nameof(Retry));
            foreach (var sensor in _state.Sensors)
                _peers.Tell(new PeerProxyProtocol.Send(sensor, new ScanPayloads.CancelScan(_state.ScanId)));
            requester.Tell(View());
            Announce("cancelled");
        });
    }

    /// <summary>Sends every outstanding segment (of one sensor, or all) again; sensors ignore what they already have.</summary>
    private void SendOutstanding(string? onlyTo = null)
    {
        if (_state is not { Phase: ScanPhase.Running })
            return;
        foreach (var (segment, sensor) in _state.Outstanding())
            if ((onlyTo is null || sensor == onlyTo) && _online.Contains(sensor))
                Send(segment, sensor);
    }

    private void Send(int segment, string sensor) =>
        _peers.Tell(new PeerProxyProtocol.Send(sensor, ScanPayloads.RunSegment.For(_state!.ScanId, segment, _state.Parameters)));

    private void Announce(string change, int? segment = null, string? sensor = null, string? from = null) =>
        Context.System.EventStream.Publish(new ScanProtocol.ScanChanged(change, _state!, Paused, segment, sensor, from));

    public static Props Props(string scanId, IActorRef peers, ScanSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new ScanActor(scanId, peers, settings, clock));
}
