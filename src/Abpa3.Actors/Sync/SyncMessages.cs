namespace Abpa3.Actors.Sync;

/// <summary>
/// One event on a topic: gap-free <see cref="Seq"/> within the node's epoch. <see cref="Data"/> is the
/// event's JSON value as UTF-8 bytes, kept as received: what it costs in memory is its size.
/// </summary>
public sealed record SyncEvent(string Topic, long Seq, DateTimeOffset Ts, string Source, byte[] Data);

/// <summary>What a client may send once authenticated (parsed by the edge from JSON frames).</summary>
public static class ClientMessages
{
    public interface IClientMessage;

    public sealed record Subscribe(IReadOnlyList<string> Topics, IReadOnlyDictionary<string, long>? Since, string? Epoch) : IClientMessage;

    public sealed record Unsubscribe(IReadOnlyList<string> Topics) : IClientMessage;

    /// <summary><see cref="Data"/>: the JSON value as UTF-8 bytes.</summary>
    public sealed record Publish(string Topic, string Id, byte[] Data) : IClientMessage;

    public sealed class Ping : IClientMessage
    {
        public static readonly Ping Instance = new();
        private Ping() { }
    }

    /// <summary>A frame the edge could not make sense of; answered with an <c>error</c>, the session stays open.</summary>
    public sealed record Malformed(string Code, string Message) : IClientMessage;
}

/// <summary>What the node sends a client (serialized by the edge).</summary>
public static class ServerMessages
{
    public interface IServerMessage;

    public sealed record Welcome(string SessionId, string DeviceId, string Epoch) : IServerMessage;

    public sealed record Event(SyncEvent Body) : IServerMessage;

    public sealed record Ack(string Id, long Seq) : IServerMessage;

    public sealed record Error(string Code, string Message) : IServerMessage;

    public sealed class Pong : IServerMessage
    {
        public static readonly Pong Instance = new();
        private Pong() { }
    }

    /// <summary>The client's gap can no longer be replayed (or the epoch changed): it must fetch current state.</summary>
    public sealed record ResyncRequired(string Topic, long Seq) : IServerMessage;

    /// <summary>
    /// After a subscribe: each topic's current sequence number, so a client that subscribed without
    /// <c>since</c> knows where it starts and later resumes from there (not from the start of the buffer).
    /// </summary>
    public sealed record Subscribed(IReadOnlyDictionary<string, long> Seqs) : IServerMessage;

    /// <summary>Tells the edge to close the socket with this code.</summary>
    public sealed record Close(int Code, string Reason) : IServerMessage;
}
