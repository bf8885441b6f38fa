using Akka.Actor;
using Abpa3.Actors.Pairing;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Actors.Sync;

/// <summary>
/// One authenticated WebSocket client: its subscriptions and its outbox. It never waits on the socket:
/// when the outbox is full, events are dropped and the topic is marked lagging; once the outbox has
/// drained the client gets <c>resync_required</c> for those topics (and the newest voice value), so
/// it resumes with <c>since</c> and loses nothing the replay buffer still holds.
/// </summary>
public sealed class SessionActor : ReceiveActor
{
    /// <summary>Told by the edge when a lagging session's outbox has run empty.</summary>
    public sealed class OutboxDrained
    {
        public static readonly OutboxDrained Instance = new();
        private OutboxDrained() { }
    }

    /// <summary>Close the session with this WebSocket close code (revocation, shutdown).</summary>
    public sealed record CloseSession(int Code, string Reason);

    private readonly string _deviceId;
    private readonly bool _isClientDevice;
    private readonly IActorRef _hub;
    private readonly IActorRef _activity;
    private readonly SessionOutbox _outbox;
    private readonly HashSet<string> _topics = [];
    /// <summary>Topics whose events were dropped on a full outbox, with the last sequence number queued before.</summary>
    private readonly Dictionary<string, long> _lagging = new();
    private readonly HashSet<string> _awaitingReplay = [];
    private readonly string _epoch;
    private SyncEvent? _pendingVoice;

    public SessionActor(string sessionId, string deviceId, bool isClientDevice, string epoch,
        IActorRef hub, IActorRef activity, SessionOutbox outbox)
    {
        _deviceId = deviceId;
        _isClientDevice = isClientDevice;
        _hub = hub;
        _activity = activity;
        _outbox = outbox;
        _epoch = epoch;
        _outbox.TryWrite(new Welcome(sessionId, deviceId, epoch));

        Receive<ClientMessages.Subscribe>(subscribe =>
        {
            var unknown = subscribe.Topics.FirstOrDefault(t => !SyncTopics.IsKnown(t));
            if (unknown is not null)
            {
                Send(new Error("unknown_topic", $"no topic '{unknown}'"));
                return;
            }
            foreach (var topic in subscribe.Topics)
            {
                _topics.Add(topic);
                _lagging.Remove(topic);
                _awaitingReplay.Remove(topic);
            }
            _hub.Tell(new SyncHubProtocol.Subscribe(subscribe.Topics, subscribe.Since, subscribe.Epoch));
            MarkActive();
        });
        Receive<ClientMessages.Unsubscribe>(unsubscribe =>
        {
            foreach (var topic in unsubscribe.Topics)
                _topics.Remove(topic);
            _hub.Tell(new SyncHubProtocol.Unsubscribe(unsubscribe.Topics));
        });
        Receive<ClientMessages.Publish>(publish =>
        {
            if (!SyncTopics.IsKnown(publish.Topic))
                Send(new Error("unknown_topic", $"no topic '{publish.Topic}'"));
            else if (!SyncTopics.ClientMayPublish(publish.Topic))
                Send(new Error("forbidden_topic", $"only the node publishes on '{publish.Topic}'"));
            else
            {
                _hub.Tell(new SyncHubProtocol.Publish(publish.Topic, _deviceId, publish.Data, publish.Id));
                MarkActive();
            }
        });
        Receive<ClientMessages.Ping>(_ => Send(Pong.Instance));
        Receive<ClientMessages.Malformed>(malformed => Send(new Error(malformed.Code, malformed.Message)));

        Receive<SyncHubProtocol.Subscribed>(subscribed =>
        {
            foreach (var topic in subscribed.Topics.Where(_awaitingReplay.Remove))
                _lagging.Remove(topic);
            foreach (var message in subscribed.Replay)
                Deliver(message);
        });
        Receive<SyncHubProtocol.Published>(published => Send(new Ack(published.ClientMessageId, published.Seq)));
        Receive<SyncEvent>(e =>
        {
            if (_topics.Contains(e.Topic))
                Deliver(new Event(e));
        });
        Receive<OutboxDrained>(_ => Repair());
        Receive<CloseSession>(close =>
        {
            _outbox.Close(close.Code, close.Reason);
            Context.Stop(Self);
        });
    }

    private void Deliver(IServerMessage message)
    {
        if (message is not Event { Body: var e })
        {
            Send(message);
            return;
        }
        if (_lagging.TryGetValue(e.Topic, out _))
        {
            if (SyncTopics.LatestValueWins(e.Topic))
                _pendingVoice = e; // coalesced: a slow client gets the newest voice state, not the backlog
            return; // the replay after the drain brings it
        }
        if (_outbox.TryWrite(message))
            return;
        // Full: everything up to the previous event was queued; resume from there once it drains.
        _lagging[e.Topic] = e.Seq - 1;
        if (SyncTopics.LatestValueWins(e.Topic))
            _pendingVoice = e;
        _outbox.RequestDrainSignal();
    }

    /// <summary>
    /// The outbox has room again. Voice gets its newest value; every other lagging topic is replayed by
    /// the hub from where delivery stopped (or the client is told to resync if the buffer no longer holds it).
    /// </summary>
    private void Repair()
    {
        foreach (var (topic, deliveredUpTo) in _lagging.Where(l => !_awaitingReplay.Contains(l.Key)).ToList())
        {
            if (SyncTopics.LatestValueWins(topic))
            {
                if (_pendingVoice is { } voice && !_outbox.TryWrite(new Event(voice)))
                {
                    _outbox.RequestDrainSignal();
                    continue;
                }
                _pendingVoice = null;
                _lagging.Remove(topic);
                continue;
            }
            _awaitingReplay.Add(topic);
            _hub.Tell(new SyncHubProtocol.Subscribe([topic], new Dictionary<string, long> { [topic] = deliveredUpTo }, _epoch));
        }
    }

    private void Send(IServerMessage message)
    {
        // Control answers (acks, errors, pong) are small and rare; a client too slow even for these is
        // dropped rather than buffered without bound.
        if (!_outbox.TryWrite(message))
            Self.Tell(new CloseSession(SessionCloseCodes.TooSlow, "the client does not read its messages"));
    }

    private void MarkActive()
    {
        if (_isClientDevice)
            _activity.Tell(new PairingQueries.ClientActive(_deviceId));
    }

    public static Props Props(string sessionId, string deviceId, bool isClientDevice, string epoch,
        IActorRef hub, IActorRef activity, SessionOutbox outbox) =>
        Akka.Actor.Props.Create(() => new SessionActor(sessionId, deviceId, isClientDevice, epoch, hub, activity, outbox));
}

/// <summary>The sync channel's close codes (SPEC §6).</summary>
public static class SessionCloseCodes
{
    public const int Unauthenticated = 4401;
    public const int Revoked = 4403;
    public const int AuthTimeout = 4408;
    public const int RateLimited = 4429;
    public const int TooLarge = 1009;
    public const int TooSlow = 1008;
    public const int GoingAway = 1001;
}
