using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Abpa3.Actors.Pairing;

namespace Abpa3.Actors.Sync;

/// <summary>Messages the <see cref="SyncHub"/> answers.</summary>
public static class SyncHubProtocol
{
    /// <summary>
    /// From a session: add these topics, first replaying what it missed after <see cref="Since"/>.
    /// Answered with <see cref="Subscribed"/>; the session then receives live <see cref="SyncEvent"/>s.
    /// </summary>
    public sealed record Subscribe(IReadOnlyList<string> Topics, IReadOnlyDictionary<string, long>? Since, string? Epoch);

    /// <summary>The replay, in order: <see cref="SyncEvent"/>s and <see cref="ServerMessages.ResyncRequired"/>s.</summary>
    public sealed record Subscribed(IReadOnlyList<string> Topics, IReadOnlyList<ServerMessages.IServerMessage> Replay);

    public sealed record Unsubscribe(IReadOnlyList<string> Topics);

    /// <summary>Append to a topic; a client's publish carries its message id and is answered with <see cref="Published"/>.</summary>
    public sealed record Publish(string Topic, string Source, JsonElement Data, string? ClientMessageId);

    public sealed record Published(string ClientMessageId, long Seq);
}

/// <summary>
/// The node's topics: sequence numbers, replay buffers and subscribers. Subscribe-with-replay is one
/// message here, so nothing published between the replay and the first live event can be missed.
/// Presence and registry changes reach the <c>devices</c> topic from the event stream.
/// </summary>
public sealed class SyncHub : ReceiveActor
{
    private readonly Dictionary<string, TopicLog> _logs;
    private readonly Dictionary<string, HashSet<IActorRef>> _subscribers;
    private readonly string _epoch;
    private readonly TimeProvider _clock;

    public SyncHub(string epoch, SyncSettings settings, TimeProvider clock)
    {
        _epoch = epoch;
        _clock = clock;
        _logs = SyncTopics.All.ToDictionary(t => t, t => new TopicLog(t, settings.ReplayBufferPerTopic));
        _subscribers = SyncTopics.All.ToDictionary(t => t, _ => new HashSet<IActorRef>());

        Receive<SyncHubProtocol.Subscribe>(HandleSubscribe);
        Receive<SyncHubProtocol.Unsubscribe>(unsubscribe =>
        {
            foreach (var topic in unsubscribe.Topics.Where(_subscribers.ContainsKey))
                _subscribers[topic].Remove(Sender);
        });
        Receive<SyncHubProtocol.Publish>(HandlePublish);
        Receive<PairingQueries.ClientRegistryChanged>(changed => Append(SyncTopics.Devices, "node", JsonSerializer.SerializeToElement(new
        {
            change = changed.Change,
            device_id = changed.Client.DeviceId,
            name = changed.Client.Name,
            kind = "client",
            revoked = changed.Client.Revoked,
        })));
        Receive<SessionRegistryProtocol.PresenceChanged>(presence => Append(SyncTopics.Devices, "node", JsonSerializer.SerializeToElement(new
        {
            change = presence.Online ? "online" : "offline",
            device_id = presence.DeviceId,
        })));
        Receive<Terminated>(terminated =>
        {
            foreach (var set in _subscribers.Values)
                set.Remove(terminated.ActorRef);
        });
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(PairingQueries.ClientRegistryChanged));
        Context.System.EventStream.Subscribe(Self, typeof(SessionRegistryProtocol.PresenceChanged));
    }

    private void HandleSubscribe(SyncHubProtocol.Subscribe subscribe)
    {
        var replay = new List<ServerMessages.IServerMessage>();
        var topics = subscribe.Topics.Where(_logs.ContainsKey).Distinct().ToList();
        foreach (var topic in topics)
        {
            var log = _logs[topic];
            if (subscribe.Since?.TryGetValue(topic, out var since) == true)
            {
                var missed = subscribe.Epoch == _epoch ? log.Since(since) : null;
                if (missed is null)
                {
                    replay.Add(new ServerMessages.ResyncRequired(topic, log.LastSeq));
                    // The current state of a latest-value topic is its latest value.
                    if (SyncTopics.LatestValueWins(topic) && log.Latest is { } latest)
                        replay.Add(new ServerMessages.Event(latest));
                }
                else
                {
                    replay.AddRange(missed.Select(e => new ServerMessages.Event(e)));
                }
            }
            if (_subscribers[topic].Add(Sender))
                Context.Watch(Sender);
        }
        Sender.Tell(new SyncHubProtocol.Subscribed(topics, replay));
    }

    private void HandlePublish(SyncHubProtocol.Publish publish)
    {
        if (!_logs.ContainsKey(publish.Topic))
            return;
        var appended = Append(publish.Topic, publish.Source, publish.Data);
        if (publish.ClientMessageId is { } id)
            Sender.Tell(new SyncHubProtocol.Published(id, appended.Seq));
    }

    private SyncEvent Append(string topic, string source, JsonElement data)
    {
        var appended = _logs[topic].Append(source, data, _clock.GetUtcNow());
        foreach (var subscriber in _subscribers[topic])
            subscriber.Tell(appended);
        return appended;
    }

    public static Props Props(string epoch, SyncSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new SyncHub(epoch, settings, clock));
}
