using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Abpa3.Actors.Identity;
using static Abpa3.Actors.Pairing.PairingQueries;

namespace Abpa3.Actors.Pairing;

/// <summary>
/// Holds all pairing state of the node (accounts now; tokens, client devices and peers as they land)
/// as events in the SQLite journal. Decisions come from <see cref="PairingState"/>; this actor persists,
/// replies once the write has landed, and tells the lifecycle to its listener.
/// </summary>
public sealed class PairingCoordinator : ReceivePersistentActor
{
    private readonly PairingSettings _settings;
    private readonly IActorRef _lifecycleListener;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private PairingState _state = PairingState.Empty;
    /// <summary>When each client was last active, kept in memory; the journal hears of it once per interval.</summary>
    private readonly Dictionary<string, DateTimeOffset> _liveLastSeen = new();
    private readonly Dictionary<string, DateTimeOffset> _lastSeenWritten = new();
    /// <summary>The peer an abandon removes, kept for its announcement.</summary>
    private PeerDevice? _abandoned;

    public PairingCoordinator(DeviceId deviceId, PairingSettings settings, IActorRef lifecycleListener, TimeProvider clock)
    {
        PersistenceId = $"pairing-{deviceId}";
        _settings = settings;
        _lifecycleListener = lifecycleListener;
        _clock = clock;

        Recover<SnapshotOffer>(offer =>
        {
            if (offer.Snapshot is PairingSnapshot snapshot)
                _state = PairingState.FromSnapshot(snapshot);
        });
        Recover<IPairingEvent>(e => _state = _state.Apply(e));
        Recover<RecoveryCompleted>(_ => _lifecycleListener.Tell(new LifecycleChanged(_state.Lifecycle)));

        Command<IPairingCommand>(Handle);
        Command<AuthenticateClient>(query =>
        {
            var client = _state.FindClientByKeyHash(query.KeyHash);
            if (client is null || client.Revoked)
            {
                Sender.Tell(new ClientRefused(Revoked: client is not null));
                return;
            }
            MarkActive(client.DeviceId);
            Sender.Tell(new ClientAuthenticated(client));
        });
        Command<ClientActive>(active => MarkActive(active.DeviceId));
        Command<ListClients>(_ => Sender.Tell(new ClientList(
            _state.Clients.Values.OrderBy(c => c.PairedAt).Select(WithLiveLastSeen).ToList())));
        Command<PeerActive>(active => MarkPeerActive(active.DeviceId));
        Command<ListPeers>(_ => Sender.Tell(new PeerList(
            _state.Peers.Values.OrderBy(p => p.PairedAt).Select(WithLiveLastSeen).ToList())));
        Command<GetOwner>(_ => Sender.Tell(_state.Owner is { } owner ? new UserFound(owner) : new UserNotFound("")));
        Command<GetUser>(query => Sender.Tell(_state.FindUser(query.Username) is { } account
            ? new UserFound(account)
            : new UserNotFound(query.Username)));
        Command<SaveSnapshotSuccess>(success =>
            DeleteSnapshots(new SnapshotSelectionCriteria(success.Metadata.SequenceNr - 1)));
        Command<SaveSnapshotFailure>(failure => _log.Warning(failure.Cause, "Pairing snapshot failed; the journal still holds every event"));
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(failure => _log.Warning(failure.Cause, "Deleting old pairing snapshots failed"));
    }

    public override string PersistenceId { get; }

    private void Handle(IPairingCommand command)
    {
        var decision = _state.Decide(command, _clock.GetUtcNow());
        if (decision.Events.Count == 0)
        {
            Sender.Tell(decision.Reply);
            return;
        }

        var requester = Sender;
        var lifecycleBefore = _state.Lifecycle;
        if (command is PairingCommands.AbandonSensorPairing abandon)
            _abandoned = _state.Peers.GetValueOrDefault(abandon.DeviceId);
        var remaining = decision.Events.Count;
        PersistAll(decision.Events, e =>
        {
            _state = _state.Apply(e);
            if (--remaining > 0)
                return;
            // The listener hears of the change before the requester's answer, so whatever the
            // requester asks next already sees the new lifecycle.
            if (_state.Lifecycle != lifecycleBefore)
                _lifecycleListener.Tell(new LifecycleChanged(_state.Lifecycle));
            requester.Tell(decision.Reply);
            foreach (var persisted in decision.Events)
                Announce(persisted);
            if (LastSequenceNr % _settings.SnapshotEvery == 0)
                SaveSnapshot(_state.ToSnapshot());
        });
    }

    /// <summary>Tells the rest of the node (sessions, the devices topic) what changed in the client registry.</summary>
    private void Announce(IPairingEvent persisted)
    {
        var stream = Context.System.EventStream;
        switch (persisted)
        {
            case PairingEvents.ClientPaired e:
                stream.Publish(new ClientRegistryChanged("paired", _state.Clients[e.DeviceId]));
                break;
            case PairingEvents.ClientRevoked e:
                stream.Publish(new ClientRevokedNotice(e.DeviceId));
                stream.Publish(new ClientRegistryChanged("revoked", _state.Clients[e.DeviceId]));
                break;
            case PairingEvents.PeerPaired e:
                stream.Publish(new PeerRegistryChanged("paired", _state.Peers[e.Peer.DeviceId]));
                break;
            case PairingEvents.PeerPairingPending e:
                stream.Publish(new PeerRegistryChanged("pending", _state.Peers[e.Peer.DeviceId]));
                break;
            case PairingEvents.PeerPairingCompleted e:
                stream.Publish(new PeerRegistryChanged("paired", _state.Peers[e.DeviceId]));
                break;
            case PairingEvents.PeerPairingAbandoned e:
                stream.Publish(new PeerRegistryChanged("abandoned", _abandoned!));
                break;
            case PairingEvents.PeerMoved e:
                stream.Publish(new PeerRegistryChanged("moved", _state.Peers[e.DeviceId]));
                break;
            case PairingEvents.PeerRevoked e:
                stream.Publish(new PeerRegistryChanged("revoked", _state.Peers[e.DeviceId]));
                break;
        }
    }

    private void MarkActive(string deviceId)
    {
        if (!_state.Clients.TryGetValue(deviceId, out var client) || client.Revoked)
            return;
        var now = _clock.GetUtcNow();
        _liveLastSeen[deviceId] = now;
        var written = _lastSeenWritten.TryGetValue(deviceId, out var pending) ? pending : client.LastSeen;
        if (written is { } at && now - at < _settings.LastSeenWriteInterval)
            return;
        _lastSeenWritten[deviceId] = now;
        // Nobody waits on this write, so it need not hold up the mailbox.
        PersistAsync(new PairingEvents.ClientSeen(deviceId, now), e => _state = _state.Apply(e));
    }

    private void MarkPeerActive(string deviceId)
    {
        if (!_state.Peers.TryGetValue(deviceId, out var peer) || peer.Revoked)
            return;
        var now = _clock.GetUtcNow();
        _liveLastSeen[deviceId] = now;
        var written = _lastSeenWritten.TryGetValue(deviceId, out var pending) ? pending : peer.LastSeen;
        if (written is { } at && now - at < _settings.LastSeenWriteInterval)
            return;
        _lastSeenWritten[deviceId] = now;
        PersistAsync(new PairingEvents.PeerSeen(deviceId, now), e => _state = _state.Apply(e));
    }

    private PeerDevice WithLiveLastSeen(PeerDevice peer) =>
        _liveLastSeen.TryGetValue(peer.DeviceId, out var live) && (peer.LastSeen is null || live > peer.LastSeen)
            ? peer with { LastSeen = live }
            : peer;

    private ClientDevice WithLiveLastSeen(ClientDevice client) =>
        _liveLastSeen.TryGetValue(client.DeviceId, out var live) && (client.LastSeen is null || live > client.LastSeen)
            ? client with { LastSeen = live }
            : client;

    public static Props Props(DeviceId deviceId, PairingSettings settings, IActorRef lifecycleListener, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new PairingCoordinator(deviceId, settings, lifecycleListener, clock));
}
