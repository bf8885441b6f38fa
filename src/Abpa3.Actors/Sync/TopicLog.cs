namespace Abpa3.Actors.Sync;

/// <summary>
/// One topic's sequence and its bounded replay buffer, free of any actor. Sequence numbers start at 1
/// and have no gaps; the buffer keeps the newest events, at most <c>capacity</c> of them and at most
/// <c>maxBytes</c> of data (the newest event always stays, whatever its size).
/// </summary>
public sealed class TopicLog(string topic, int capacity, long maxBytes)
{
    private readonly Queue<SyncEvent> _buffer = new();
    private long _bytes;

    public string Topic { get; } = topic;
    public long LastSeq { get; private set; }
    public SyncEvent? Latest { get; private set; }

    public long BufferedBytes => _bytes;

    public SyncEvent Append(string source, byte[] data, DateTimeOffset ts)
    {
        var appended = new SyncEvent(Topic, ++LastSeq, ts, source, data);
        _buffer.Enqueue(appended);
        _bytes += data.Length;
        while (_buffer.Count > capacity || (_bytes > maxBytes && _buffer.Count > 1))
            _bytes -= _buffer.Dequeue().Data.Length;
        Latest = appended;
        return appended;
    }

    /// <summary>
    /// The events after <paramref name="seq"/>, oldest first; null when they cannot all be given
    /// (some have left the buffer, or <paramref name="seq"/> is from the future, i.e. another epoch).
    /// </summary>
    public IReadOnlyList<SyncEvent>? Since(long seq)
    {
        if (seq < 0 || seq > LastSeq)
            return null;
        if (seq == LastSeq)
            return [];
        var oldest = _buffer.Count == 0 ? LastSeq + 1 : _buffer.Peek().Seq;
        return seq + 1 < oldest ? null : _buffer.Where(e => e.Seq > seq).ToList();
    }
}
