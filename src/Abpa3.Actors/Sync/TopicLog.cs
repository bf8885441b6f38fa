using System.Text.Json;

namespace Abpa3.Actors.Sync;

/// <summary>
/// One topic's sequence and its bounded replay buffer, free of any actor. Sequence numbers start at 1
/// and have no gaps; the buffer keeps the newest <c>capacity</c> events.
/// </summary>
public sealed class TopicLog(string topic, int capacity)
{
    private readonly Queue<SyncEvent> _buffer = new();

    public string Topic { get; } = topic;
    public long LastSeq { get; private set; }
    public SyncEvent? Latest { get; private set; }

    public SyncEvent Append(string source, JsonElement data, DateTimeOffset ts)
    {
        var appended = new SyncEvent(Topic, ++LastSeq, ts, source, data);
        _buffer.Enqueue(appended);
        if (_buffer.Count > capacity)
            _buffer.Dequeue();
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
