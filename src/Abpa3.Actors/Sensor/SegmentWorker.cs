using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Scans;
using Abpa3.Actors.Serialization;

namespace Abpa3.Actors.Sensor;

/// <summary>What the <see cref="SegmentWorker"/> writes to its journal.</summary>
public static class SegmentWorkerEvents
{
    /// <summary>A segment is finished; its result is kept until the manager acknowledges it.</summary>
    public sealed record SegmentProduced(string ManagerId, string ScanId, int Segment, byte[] Data, DateTimeOffset At) : IPersistedMessage;

    /// <summary>The manager has the result; it is forgotten here.</summary>
    public sealed record SegmentAcknowledged(string ScanId, int Segment) : IPersistedMessage;

    /// <summary>The manager cancelled the scan: its unacknowledged results are dropped.</summary>
    public sealed record ScanDropped(string ScanId) : IPersistedMessage;

    public sealed record OutboxEntry(string ManagerId, string ScanId, int Segment, byte[] Data);

    public sealed record OutboxSnapshot(IReadOnlyList<OutboxEntry> Entries) : IPersistedMessage;
}

/// <summary>What the <see cref="SegmentWorker"/> answers.</summary>
public static class SegmentWorkerQueries
{
    /// <summary>Answered with <see cref="Backlog"/>.</summary>
    public sealed class GetBacklog
    {
        public static readonly GetBacklog Instance = new();
        private GetBacklog() { }
    }

    /// <summary>Segments waiting to run or running, and results kept until the manager acknowledges them.</summary>
    public sealed record Backlog(int SegmentsQueued, int ResultsUnacknowledged);
}

/// <summary>
/// The sensor's side of the manager's scans (SPEC §7): runs the segments its manager assigns, one at a
/// time in arrival order, through the driver at the scan's row rate, and delivers each result with
/// acknowledgement: a result is written to the local journal before it is sent, sent again until the
/// manager acknowledges it (also after a restart of either side, or a long absence of the manager), and
/// a segment asked for twice is produced once.
/// </summary>
public sealed class SegmentWorker : ReceivePersistentActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }

    private sealed class Resend
    {
        public static readonly Resend Instance = new();
        private Resend() { }
    }

    private sealed record Work(string ManagerId, ScanPayloads.RunSegment Request);

    private readonly ISensorDriver _driver;
    private readonly SensorSettings _settings;
    private readonly TimeProvider _clock;
    private readonly IActorRef _peers;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ImmutableDictionary<(string Scan, int Segment), SegmentWorkerEvents.OutboxEntry> _outbox =
        ImmutableDictionary<(string, int), SegmentWorkerEvents.OutboxEntry>.Empty;
    private readonly LinkedList<Work> _queue = new();
    private Work? _running;
    private DateTimeOffset _runningSince;
    private DateTimeOffset? _lastDue;

    public SegmentWorker(string deviceId, ISensorDriver driver, SensorSettings settings, IActorRef peers, TimeProvider clock)
    {
        PersistenceId = $"segments-{deviceId}";
        _driver = driver;
        _settings = settings;
        _peers = peers;
        _clock = clock;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is SegmentWorkerEvents.OutboxSnapshot snapshot)
                _outbox = snapshot.Entries.ToImmutableDictionary(e => (e.ScanId, e.Segment));
        });
        Recover<IPersistedMessage>(Apply);
        Recover<RecoveryCompleted>(_ =>
        {
            if (!_outbox.IsEmpty)
                _log.Info("{0} segment results wait for the manager's acknowledgement", _outbox.Count);
        });

        Command<PeerProxyProtocol.Received>(received => OnPeerMessage(received));
        Command<PeerProxyProtocol.PresenceChanged>(presence =>
        {
            if (presence.Online && _outbox.Values.Any(e => e.ManagerId == presence.DeviceId))
                SendOutbox(); // the manager is back: deliver what it missed now, not at the next resend
        });
        Command<SegmentWorkerQueries.GetBacklog>(_ =>
            Sender.Tell(new SegmentWorkerQueries.Backlog(_queue.Count + (_running is null ? 0 : 1), _outbox.Count)));
        Command<Tick>(_ => Advance());
        Command<Resend>(_ => SendOutbox());
        Command<SaveSnapshotSuccess>(success => DeleteMessages(success.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Segment outbox snapshot failed; the journal still holds every event"));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(failure => _log.Warning(failure.Cause, "Deleting old segment events failed"));
    }

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(PeerProxyProtocol.Received));
        Context.System.EventStream.Subscribe(Self, typeof(PeerProxyProtocol.PresenceChanged));
        Timers.StartPeriodicTimer(nameof(Resend), Resend.Instance, _settings.ResendInterval);
    }

    private void OnPeerMessage(PeerProxyProtocol.Received received)
    {
        // Only this device's manager assigns work; anything else from a peer is not for this actor.
        if (received.Role != PeerRole.Manager)
            return;
        switch (received.Payload)
        {
            case ScanPayloads.RunSegment run:
                Enqueue(received.DeviceId, run);
                break;
            case ScanPayloads.SegmentAck ack when _outbox.ContainsKey((ack.ScanId, ack.Segment)):
                Persist(new SegmentWorkerEvents.SegmentAcknowledged(ack.ScanId, ack.Segment), e =>
                {
                    Apply(e);
                    SnapshotNow();
                });
                break;
            case ScanPayloads.CancelScan cancel:
                _queue.RemoveAll(w => w.Request.ScanId == cancel.ScanId);
                if (_running?.Request.ScanId == cancel.ScanId)
                {
                    StopRunning();
                    StartNext();
                }
                if (_outbox.Keys.Any(k => k.Scan == cancel.ScanId))
                    Persist(new SegmentWorkerEvents.ScanDropped(cancel.ScanId), Apply);
                break;
        }
    }

    private void Enqueue(string managerId, ScanPayloads.RunSegment run)
    {
        var parameters = run.Parameters;
        if (!parameters.IsValid() || run.Segment < 0 || run.Segment >= parameters.Segments || run.ScanId.Length is 0 or > ScanIds.MaxLength)
        {
            _log.Warning("Ignored a segment request with invalid parameters from {0}", managerId);
            return;
        }
        // Asked again for a segment already done: the result goes again (the first may have been lost).
        if (_outbox.TryGetValue((run.ScanId, run.Segment), out var done))
        {
            Send(done);
            return;
        }
        if (_running?.Request.ScanId == run.ScanId && _running.Request.Segment == run.Segment
            || _queue.Any(w => w.Request.ScanId == run.ScanId && w.Request.Segment == run.Segment))
            return;
        _queue.AddLast(new Work(managerId, run));
        if (_running is null)
            StartNext();
    }

    private void StartNext()
    {
        if (_queue.First is not { } next)
        {
            _lastDue = null; // idle from now: the next segment starts when it arrives
            return;
        }
        _queue.RemoveFirst();
        _running = next.Value;
        // Reading goes on at the scan's rate: a segment queued behind the last one starts where that one was
        // due, so a timer firing late or a journal write does not slow the sensor down segment after segment.
        var now = _clock.GetUtcNow();
        _runningSince = _lastDue is { } lastDue && lastDue < now ? lastDue : now;
        _lastDue = null;
        WakeWhenDue(next.Value.Request);
    }

    /// <summary>
    /// The segment is checked again exactly when its rows are due at the scan's rate, not on a polling tick: a fast
    /// scan's segments follow each other at once instead of one per tick, and an idle sensor has no timer at all.
    /// </summary>
    private void WakeWhenDue(ScanPayloads.RunSegment request)
    {
        var left = UntilDue(request);
        if (left <= TimeSpan.Zero)
            Self.Tell(Tick.Instance); // a stale tick is harmless: Advance checks what is running and whether it is due
        else
            Timers.StartSingleTimer(nameof(Tick), Tick.Instance, left);
    }

    private void StopRunning()
    {
        _running = null;
        Timers.Cancel(nameof(Tick));
    }


    /// <summary>How long reading a segment takes at the scan's rate.</summary>
    private static TimeSpan ReadingTime(ScanPayloads.RunSegment request)
    {
        var (start, end) = request.Parameters.SegmentRows(request.Segment);
        return TimeSpan.FromSeconds((end - start) / request.Parameters.RowsPerSecond);
    }

    /// <summary>How long until every row of the running segment is due at the scan's rate.</summary>
    private TimeSpan UntilDue(ScanPayloads.RunSegment request) => ReadingTime(request) - (_clock.GetUtcNow() - _runningSince);

    /// <summary>A segment is done once its rows are due at the scan's rate; then its bytes are read and kept.</summary>
    private void Advance()
    {
        if (_running is not { } work)
            return;
        var parameters = work.Request.Parameters;
        var (start, end) = parameters.SegmentRows(work.Request.Segment);
        if (UntilDue(work.Request) > TimeSpan.Zero)
        {
            WakeWhenDue(work.Request); // the timer fired a little early
            return;
        }
        StopRunning();
        var dueAt = _runningSince + ReadingTime(work.Request);
        var data = _driver.ReadRows(parameters, start, end);
        Persist(new SegmentWorkerEvents.SegmentProduced(work.ManagerId, work.Request.ScanId, work.Request.Segment, data, _clock.GetUtcNow()), e =>
        {
            Apply(e);
            Send(_outbox[(e.ScanId, e.Segment)]);
            _lastDue = dueAt;
            StartNext();
        });
    }

    private void SendOutbox()
    {
        foreach (var entry in _outbox.Values)
            Send(entry);
    }

    private void Send(SegmentWorkerEvents.OutboxEntry entry) =>
        _peers.Tell(new PeerProxyProtocol.Send(entry.ManagerId, new ScanPayloads.SegmentResult(entry.ScanId, entry.Segment, entry.Data)));

    private void Apply(IPersistedMessage @event)
    {
        switch (@event)
        {
            case SegmentWorkerEvents.SegmentProduced e:
                _outbox = _outbox.SetItem((e.ScanId, e.Segment), new SegmentWorkerEvents.OutboxEntry(e.ManagerId, e.ScanId, e.Segment, e.Data));
                break;
            case SegmentWorkerEvents.SegmentAcknowledged e:
                _outbox = _outbox.Remove((e.ScanId, e.Segment));
                break;
            case SegmentWorkerEvents.ScanDropped e:
                _outbox = _outbox.RemoveRange(_outbox.Keys.Where(k => k.Scan == e.ScanId));
                break;
        }
    }

    /// <summary>When the outbox empties, a snapshot lets the journal forget every delivered result.</summary>
    private void SnapshotNow()
    {
        if (_outbox.IsEmpty || LastSequenceNr % _settings.SnapshotEvery == 0)
            SaveSnapshot(new SegmentWorkerEvents.OutboxSnapshot(_outbox.Values.ToList()));
    }

    public static Props Props(string deviceId, ISensorDriver driver, SensorSettings settings, IActorRef peers, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new SegmentWorker(deviceId, driver, settings, peers, clock));
}

internal static class LinkedListExtensions
{
    public static void RemoveAll<T>(this LinkedList<T> list, Func<T, bool> match)
    {
        for (var node = list.First; node is not null;)
        {
            var next = node.Next;
            if (match(node.Value))
                list.Remove(node);
            node = next;
        }
    }
}
