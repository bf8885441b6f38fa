using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Peers;
using static Abpa3.Actors.Scans.ScanEvents;

namespace Abpa3.Actors.Scans;

/// <summary>
/// The manager's scans: keeps the index of scans in its journal (so a restart brings each
/// <see cref="ScanActor"/> back, which then recovers itself), starts new ones, and routes the segment
/// results that arrive from sensors to their scan. A result for a scan it does not know is acknowledged
/// (so the sensor stops sending it) and otherwise ignored.
/// </summary>
public sealed class ScanCoordinator : ReceivePersistentActor
{
    private readonly IActorRef _peers;
    private readonly ScanSettings _settings;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<string> _scanIds = [];

    public ScanCoordinator(string deviceId, IActorRef peers, ScanSettings settings, TimeProvider clock)
    {
        PersistenceId = $"scans-{deviceId}";
        _peers = peers;
        _settings = settings;
        _clock = clock;

        Recover<ScanCreated>(e => _scanIds.Add(e.ScanId));
        Recover<RecoveryCompleted>(_ =>
        {
            foreach (var id in _scanIds)
                ScanFor(id);
        });

        Command<ScanProtocol.StartScan>(start =>
        {
            if (_scanIds.Contains(start.ScanId))
            {
                Sender.Tell(new ScanProtocol.ScanRefused($"scan {start.ScanId} exists already"));
                return;
            }
            if (_scanIds.Count >= _settings.MaxScans)
            {
                Sender.Tell(new ScanProtocol.ScanRefused($"this manager keeps at most {_settings.MaxScans} scans"));
                return;
            }
            var requester = Sender;
            Persist(new ScanCreated(start.ScanId, _clock.GetUtcNow()), e =>
            {
                _scanIds.Add(e.ScanId);
                ScanFor(e.ScanId).Tell(start, requester);
            });
        });
        Command<ScanProtocol.GetScan>(get => ForwardOrNotFound(get.ScanId, get));
        Command<ScanProtocol.GetScanData>(get => ForwardOrNotFound(get.ScanId, get));
        Command<ScanProtocol.CancelScan>(cancel => ForwardOrNotFound(cancel.ScanId, cancel));
        CommandAsync<ScanProtocol.ListScans>(async _ =>
        {
            var views = await Task.WhenAll(_scanIds.Select(id => ScanFor(id).Ask<object>(new ScanProtocol.GetScan(id), _settings.QueryTimeout)));
            Sender.Tell(new ScanProtocol.ScanList(views.OfType<ScanProtocol.ScanView>().OrderByDescending(v => v.State.StartedAt).ToList()));
        });
        Command<PeerProxyProtocol.Received>(received =>
        {
            if (received.Role != PeerRole.Sensor || received.Payload is not ScanPayloads.SegmentResult result)
                return;
            if (_scanIds.Contains(result.ScanId))
                ScanFor(result.ScanId).Tell(new ScanProtocol.ResultFrom(received.DeviceId, result));
            else
            {
                _log.Warning("A result for unknown scan {0} from {1} was acknowledged and dropped", result.ScanId, received.DeviceId);
                _peers.Tell(new PeerProxyProtocol.Send(received.DeviceId, new ScanPayloads.SegmentAck(result.ScanId, result.Segment)));
            }
        });
    }

    public override string PersistenceId { get; }

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(PeerProxyProtocol.Received));

    private void ForwardOrNotFound(string scanId, object message)
    {
        if (_scanIds.Contains(scanId))
            ScanFor(scanId).Forward(message);
        else
            Sender.Tell(new ScanProtocol.ScanNotFound(scanId));
    }

    private IActorRef ScanFor(string scanId) =>
        Context.Child(scanId) is var child && !child.Equals(ActorRefs.Nobody) ? child : Context.ActorOf(ScanActor.Props(scanId, _peers, _settings, _clock), scanId);

    public static Props Props(string deviceId, IActorRef peers, ScanSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new ScanCoordinator(deviceId, peers, settings, clock));
}
