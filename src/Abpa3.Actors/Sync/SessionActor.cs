using Akka.Actor;
using Abpa3.Actors.Pairing;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Actors.Sync;

/// <summary>
/// One authenticated WebSocket client: it checks the client's requests, answers the control messages
/// (acks, errors, pong) into the session's outbox and hands subscriptions to the <see cref="SyncHub"/>,
/// which delivers events straight into the same outbox.
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

    public SessionActor(string sessionId, string deviceId, bool isClientDevice, string epoch,
        IActorRef hub, IActorRef activity, SessionOutbox outbox)
    {
        _deviceId = deviceId;
        _isClientDevice = isClientDevice;
        _hub = hub;
        _activity = activity;
        _outbox = outbox;
        _outbox.TryWrite(new Welcome(sessionId, deviceId, epoch));

        Receive<ClientMessages.Subscribe>(subscribe =>
        {
            if (subscribe.Topics.FirstOrDefault(t => !SyncTopics.IsKnown(t)) is { } unknown)
            {
                Send(new Error("unknown_topic", $"no topic '{unknown}'"));
                return;
            }
            _hub.Tell(new SyncHubProtocol.Subscribe(subscribe.Topics, subscribe.Since, subscribe.Epoch, _outbox));
            MarkActive();
        });
        Receive<ClientMessages.Unsubscribe>(unsubscribe => _hub.Tell(new SyncHubProtocol.Unsubscribe(unsubscribe.Topics)));
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
        Receive<SyncHubProtocol.Published>(published => Send(new Ack(published.ClientMessageId, published.Seq)));
        Receive<OutboxDrained>(_ => _hub.Tell(SyncHubProtocol.Drained.Instance));
        Receive<CloseSession>(close =>
        {
            _outbox.Close(close.Code, close.Reason);
            Context.Stop(Self);
        });
    }

    private void Send(IServerMessage message)
    {
        // Control answers are small and rare; a client too slow even for these is dropped rather
        // than buffered without bound.
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
