using System.Text.Json;
using Akka.Actor;
using Abpa3.Actors.Pairing;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Actors.Sync;

/// <summary>Messages the <see cref="SyncHub"/> answers.</summary>
public static class SyncHubProtocol
{
    /// <summary>
    /// From a session: add these topics, first replaying into its outbox what it missed after
    /// <see cref="Since"/> (or <c>resync_required</c> when that is gone or the epoch changed).
    /// </summary>
    public sealed record Subscribe(IReadOnlyList<string> Topics, IReadOnlyDictionary<string, long>? Since, string? Epoch, SessionOutbox Outbox);

    public sealed record Unsubscribe(IReadOnlyList<string> Topics);

    /// <summary>Append to a topic; a client's publish carries its message id and is answered with <see cref="Published"/>.</summary>
    public sealed record Publish(string Topic, string Source, byte[] Data, string? ClientMessageId);

    public sealed record Published(string ClientMessageId, long Seq);

    /// <summary>From a session whose outbox ran empty after it lagged: time to repair.</summary>
    public sealed class Drained
    {
        public static readonly Drained Instance = new();
        private Drained() { }
    }
}

/// <summary>
/// The node's topics: sequence numbers, replay buffers, and delivery into every subscriber's outbox.
/// Delivery happens here, not through each session actor, so one event costs one pass over its
/// subscribers. A subscriber whose outbox is full stops receiving that topic; when its outbox has
/// drained it is replayed from the buffer where it stopped (<c>voice</c>: just its newest value),
/// or told <c>resync_required</c> if the buffer no longer reaches back. Nobody else waits.
/// </summary>
public sealed class SyncHub : ReceiveActor
{
    private sealed class Subscriber(IActorRef session, SessionOutbox outbox)
    {
        public IActorRef Session { get; } = session;
        public SessionOutbox Outbox { get; } = outbox;
        public HashSet<string> Topics { get; } = [];
        /// <summary>Topics not being delivered, with the last sequence number that was queued before.</summary>
        public Dictionary<string, long> Lagging { get; } = new();
        public SyncEvent? PendingVoice { get; set; }
    }

    /// <summary>Marks a lagging topic whose repair is a resync (its resync_required did not fit).</summary>
    private const long ResyncPending = -1;

    private readonly Dictionary<string, TopicLog> _logs;
    private readonly Dictionary<string, HashSet<Subscriber>> _byTopic;
    private readonly Dictionary<IActorRef, Subscriber> _subscribers = new();
    private readonly string _epoch;
    private readonly TimeProvider _clock;
    /// <summary>Per source, the message ids of its latest publishes: a publish retried after a lost ack is acked, not appended again.</summary>
    private readonly Dictionary<string, (Queue<string> Order, Dictionary<string, long> Seqs)> _recentIds = new();
    private const int RecentIdsPerSource = 256;

    public SyncHub(string epoch, SyncSettings settings, TimeProvider clock)
    {
        _epoch = epoch;
        _clock = clock;
        _logs = SyncTopics.All.ToDictionary(t => t, t => new TopicLog(t, settings.ReplayBufferPerTopic, settings.ReplayBufferBytesPerTopic));
        _byTopic = SyncTopics.All.ToDictionary(t => t, _ => new HashSet<Subscriber>());

        Receive<SyncHubProtocol.Subscribe>(HandleSubscribe);
        Receive<SyncHubProtocol.Unsubscribe>(unsubscribe =>
        {
            if (!_subscribers.TryGetValue(Sender, out var subscriber))
                return;
            foreach (var topic in unsubscribe.Topics.Where(_byTopic.ContainsKey))
            {
                _byTopic[topic].Remove(subscriber);
                subscriber.Topics.Remove(topic);
                subscriber.Lagging.Remove(topic);
            }
        });
        Receive<SyncHubProtocol.Publish>(publish =>
        {
            if (!_logs.ContainsKey(publish.Topic))
                return;
            if (publish.ClientMessageId is { } retried && SeenBefore(publish.Source, retried) is { } earlier)
            {
                Sender.Tell(new SyncHubProtocol.Published(retried, earlier));
                return;
            }
            var appended = Append(publish.Topic, publish.Source, publish.Data);
            if (publish.ClientMessageId is { } id)
            {
                Remember(publish.Source, id, appended.Seq);
                Sender.Tell(new SyncHubProtocol.Published(id, appended.Seq));
            }
        });
        Receive<SyncHubProtocol.Drained>(_ =>
        {
            if (_subscribers.TryGetValue(Sender, out var subscriber))
                Repair(subscriber);
        });
        Receive<PairingQueries.ClientRegistryChanged>(changed => Append(SyncTopics.Devices, "node", JsonSerializer.SerializeToUtf8Bytes(new
        {
            change = changed.Change,
            device_id = changed.Client.DeviceId,
            name = changed.Client.Name,
            kind = "client",
            revoked = changed.Client.Revoked,
        })));
        Receive<PairingQueries.PeerRegistryChanged>(changed => Append(SyncTopics.Devices, "node", JsonSerializer.SerializeToUtf8Bytes(new
        {
            change = changed.Change,
            device_id = changed.Peer.DeviceId,
            name = changed.Peer.Name,
            kind = changed.Peer.Pending ? "peer-pending" : "peer",
            role = changed.Peer.Role == PeerRole.Manager ? "manager" : "sensor",
            revoked = changed.Peer.Revoked,
        })));
        Receive<Peers.PeerProxyProtocol.PresenceChanged>(presence => Append(SyncTopics.Devices, "node", JsonSerializer.SerializeToUtf8Bytes(new
        {
            change = presence.Online ? "online" : "offline",
            device_id = presence.DeviceId,
            kind = "peer",
            last_seen = presence.LastSeen,
        })));
        Receive<Scans.ScanProtocol.ScanChanged>(changed => Append(SyncTopics.Scans, "node", JsonSerializer.SerializeToUtf8Bytes(new
        {
            change = changed.Change,
            scan_id = changed.State.ScanId,
            state = Scans.ScanViews.Describe(changed.State, changed.Paused),
            progress = changed.State.Progress,
            segments_done = changed.State.DoneCount,
            segments_total = changed.State.Segments.Length,
            segment = changed.Segment,
            sensor = changed.Sensor,
            from = changed.From,
        })));
        Receive<SessionRegistryProtocol.PresenceChanged>(presence => Append(SyncTopics.Devices, "node", JsonSerializer.SerializeToUtf8Bytes(new
        {
            change = presence.Online ? "online" : "offline",
            device_id = presence.DeviceId,
        })));
        Receive<Terminated>(terminated =>
        {
            if (!_subscribers.Remove(terminated.ActorRef, out var subscriber))
                return;
            foreach (var topic in subscriber.Topics)
                _byTopic[topic].Remove(subscriber);
        });
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(PairingQueries.ClientRegistryChanged));
        Context.System.EventStream.Subscribe(Self, typeof(SessionRegistryProtocol.PresenceChanged));
        Context.System.EventStream.Subscribe(Self, typeof(PairingQueries.PeerRegistryChanged));
        Context.System.EventStream.Subscribe(Self, typeof(Peers.PeerProxyProtocol.PresenceChanged));
        Context.System.EventStream.Subscribe(Self, typeof(Scans.ScanProtocol.ScanChanged));
    }

    private void HandleSubscribe(SyncHubProtocol.Subscribe subscribe)
    {
        if (!_subscribers.TryGetValue(Sender, out var subscriber))
        {
            _subscribers[Sender] = subscriber = new Subscriber(Sender, subscribe.Outbox);
            Context.Watch(Sender);
        }
        var topics = subscribe.Topics.Where(_logs.ContainsKey).Distinct().ToList();
        foreach (var topic in topics)
        {
            subscriber.Topics.Add(topic);
            _byTopic[topic].Add(subscriber);
            subscriber.Lagging.Remove(topic); // an explicit subscribe starts the topic afresh
            if (subscribe.Since?.TryGetValue(topic, out var since) != true)
                continue;
            var log = _logs[topic];
            // Without an epoch (SPEC §6 does not require one) the client is taken to mean this one;
            // a seq from another epoch that lies beyond this one's still gets resync_required.
            var missed = subscribe.Epoch is null || subscribe.Epoch == _epoch ? log.Since(since) : null;
            if (missed is null)
                Resync(subscriber, log);
            else
                foreach (var e in missed)
                    Deliver(subscriber, e);
        }
        // Where each topic stands now, after the replay: the client resumes from here next time.
        subscriber.Outbox.TryWrite(new Subscribed(topics.ToDictionary(t => t, t => _logs[t].LastSeq)));
    }

    private long? SeenBefore(string source, string id) =>
        _recentIds.TryGetValue(source, out var recent) && recent.Seqs.TryGetValue(id, out var seq) ? seq : null;

    private void Remember(string source, string id, long seq)
    {
        if (!_recentIds.TryGetValue(source, out var recent))
            _recentIds[source] = recent = (new Queue<string>(), new Dictionary<string, long>());
        recent.Order.Enqueue(id);
        recent.Seqs[id] = seq;
        if (recent.Order.Count > RecentIdsPerSource)
            recent.Seqs.Remove(recent.Order.Dequeue());
    }

    private SyncEvent Append(string topic, string source, byte[] data)
    {
        var appended = _logs[topic].Append(source, data, _clock.GetUtcNow());
        foreach (var subscriber in _byTopic[topic])
            Deliver(subscriber, appended);
        return appended;
    }

    private void Deliver(Subscriber subscriber, SyncEvent e)
    {
        var latestWins = SyncTopics.LatestValueWins(e.Topic);
        if (subscriber.Lagging.ContainsKey(e.Topic))
        {
            if (latestWins)
                subscriber.PendingVoice = e; // coalesced: a slow client gets the newest value, not the backlog
            return;
        }
        if (subscriber.Outbox.TryWrite(new Event(e)))
            return;
        subscriber.Lagging[e.Topic] = e.Seq - 1;
        if (latestWins)
            subscriber.PendingVoice = e;
        AwaitDrain(subscriber);
    }

    /// <summary>Repair once the outbox is empty; if it emptied already, repair now rather than wait for a signal that will not come.</summary>
    private void AwaitDrain(Subscriber subscriber)
    {
        if (subscriber.Outbox.RequestDrainSignal())
            Self.Tell(SyncHubProtocol.Drained.Instance, subscriber.Session);
    }

    /// <summary>The gap cannot be replayed: say so, and give the current state of a latest-value topic.</summary>
    private void Resync(Subscriber subscriber, TopicLog log)
    {
        if (!subscriber.Outbox.TryWrite(new ResyncRequired(log.Topic, log.LastSeq)))
        {
            subscriber.Lagging[log.Topic] = ResyncPending;
            AwaitDrain(subscriber);
            return;
        }
        if (SyncTopics.LatestValueWins(log.Topic) && log.Latest is { } latest)
            Deliver(subscriber, latest);
    }

    private void Repair(Subscriber subscriber)
    {
        foreach (var (topic, deliveredUpTo) in subscriber.Lagging.ToList())
        {
            subscriber.Lagging.Remove(topic);
            if (deliveredUpTo == ResyncPending)
            {
                Resync(subscriber, _logs[topic]);
                continue;
            }
            if (SyncTopics.LatestValueWins(topic))
            {
                var newest = subscriber.PendingVoice ?? _logs[topic].Latest;
                subscriber.PendingVoice = null;
                if (newest is not null)
                    Deliver(subscriber, newest);
                continue;
            }
            var missed = _logs[topic].Since(deliveredUpTo);
            if (missed is null)
                Resync(subscriber, _logs[topic]);
            else
                foreach (var e in missed)
                    Deliver(subscriber, e); // stops at a full outbox again and waits for the next drain
        }
    }

    public static Props Props(string epoch, SyncSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new SyncHub(epoch, settings, clock));
}
