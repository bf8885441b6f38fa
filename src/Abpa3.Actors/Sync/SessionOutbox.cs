using System.Threading.Channels;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Actors.Sync;

/// <summary>
/// A session's bounded queue of messages for its socket. The session actor writes without ever
/// waiting; the edge's send loop drains it. When it is full the session drops (and later repairs)
/// instead of blocking, so a slow client never slows anyone else or grows memory.
/// </summary>
public sealed class SessionOutbox(int capacity)
{
    private readonly Channel<IServerMessage> _channel = Channel.CreateBounded<IServerMessage>(
        new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });
    private int _drainSignalRequested;

    public ChannelReader<IServerMessage> Reader => _channel.Reader;

    /// <summary>False when the outbox is full (or closed): the message was not queued.</summary>
    public bool TryWrite(IServerMessage message) => _channel.Writer.TryWrite(message);

    /// <summary>Ask the send loop to say when the outbox has run empty (a lagging session waits for that).</summary>
    public void RequestDrainSignal() => Volatile.Write(ref _drainSignalRequested, 1);

    /// <summary>Called by the send loop when the outbox is empty: true once per request.</summary>
    public bool TakeDrainSignal() => Interlocked.Exchange(ref _drainSignalRequested, 0) == 1;

    /// <summary>Queues the close (bypassing the capacity, so it always gets through) and ends the outbox.</summary>
    public void Close(int code, string reason)
    {
        // A full channel would refuse the close; the socket closes anyway when the writer completes.
        _channel.Writer.TryWrite(new Close(code, reason));
        _channel.Writer.TryComplete();
        CloseRequested = new Close(code, reason);
    }

    /// <summary>The close asked for, even if it did not fit into a full outbox.</summary>
    public Close? CloseRequested { get; private set; }
}
