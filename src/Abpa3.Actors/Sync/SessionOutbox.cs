using System.Runtime.CompilerServices;
using System.Threading.Channels;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Actors.Sync;

/// <summary>
/// A session's queue of messages for its socket. Writers (the hub for events, the session for control
/// answers) never wait; the edge's send loop drains it. Events are bounded by count and by bytes, and
/// control answers have their own small allowance, so a slow reader never slows anyone else or grows
/// memory, and still gets its acks and pongs while its events are held back.
/// </summary>
public sealed class SessionOutbox(int maxEvents, long maxEventBytes, int maxControl)
{
    /// <summary>What an event costs beyond its data: its envelope on the wire and the queue entry.</summary>
    private const int EventOverheadBytes = 160;

    private readonly Channel<IServerMessage> _channel = Channel.CreateUnbounded<IServerMessage>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly CancellationTokenSource _closing = new();
    private int _events;
    private long _eventBytes;
    private int _control;
    private int _queued;
    private int _drainSignalRequested;

    /// <summary>Cancelled as soon as a close is asked for: the send loop stops sending the backlog.</summary>
    public CancellationToken Closing => _closing.Token;

    /// <summary>The close asked for (revocation, rate limit, …), if any.</summary>
    public Close? CloseRequested { get; private set; }

    public bool IsEmpty => Volatile.Read(ref _queued) == 0;

    /// <summary>False when the message does not fit (or the outbox is closed): it was not queued.</summary>
    public bool TryWrite(IServerMessage message)
    {
        if (message is Event e)
        {
            var size = e.Body.Data.Length + EventOverheadBytes;
            var events = Interlocked.Increment(ref _events);
            var bytes = Interlocked.Add(ref _eventBytes, size);
            // One event always fits into an empty outbox, however large it is.
            if (events > maxEvents || (bytes > maxEventBytes && events > 1))
            {
                Interlocked.Decrement(ref _events);
                Interlocked.Add(ref _eventBytes, -size);
                return false;
            }
        }
        else if (Interlocked.Increment(ref _control) > maxControl)
        {
            Interlocked.Decrement(ref _control);
            return false;
        }
        Interlocked.Increment(ref _queued);
        if (_channel.Writer.TryWrite(message))
            return true;
        Release(message);
        return false;
    }

    /// <summary>The send loop's view: every queued message, in order, until the outbox is closed.</summary>
    public async IAsyncEnumerable<IServerMessage> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var message in _channel.Reader.ReadAllAsync(cancellationToken))
        {
            Release(message);
            yield return message;
        }
    }

    private void Release(IServerMessage message)
    {
        Interlocked.Decrement(ref _queued);
        if (message is Event e)
        {
            Interlocked.Decrement(ref _events);
            Interlocked.Add(ref _eventBytes, -(e.Body.Data.Length + EventOverheadBytes));
        }
        else
        {
            Interlocked.Decrement(ref _control);
        }
    }

    /// <summary>
    /// Ask the send loop to say when the outbox has run empty. Returns true if it already is (the
    /// send loop may have emptied it before the request was seen): the caller repairs at once.
    /// </summary>
    public bool RequestDrainSignal()
    {
        Volatile.Write(ref _drainSignalRequested, 1);
        return IsEmpty && TakeDrainSignal();
    }

    /// <summary>Called by the send loop when the outbox is empty: true once per request.</summary>
    public bool TakeDrainSignal() => Interlocked.Exchange(ref _drainSignalRequested, 0) == 1;

    /// <summary>Ends the outbox: nothing more is queued, the backlog is dropped and the socket closes with this code.</summary>
    public void Close(int code, string reason)
    {
        if (CloseRequested is not null)
            return;
        CloseRequested = new Close(code, reason);
        _channel.Writer.TryComplete();
        _closing.Cancel();
    }
}
