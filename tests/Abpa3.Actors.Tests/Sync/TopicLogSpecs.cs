using Abpa3.Actors.Sync;

namespace Abpa3.Actors.Tests.Sync;

public class TopicLogSpecs
{
    private static readonly byte[] Data = "{\"x\":1}"u8.ToArray();
    private static readonly DateTimeOffset Now = DateTimeOffset.UnixEpoch;

    private static TopicLog LogWith(int events, int capacity)
    {
        var log = new TopicLog("ui", capacity, maxBytes: 1 << 20);
        for (var i = 0; i < events; i++)
            log.Append("phone", Data, Now);
        return log;
    }

    [Fact]
    public void Sequence_numbers_start_at_one_and_have_no_gaps()
    {
        var log = LogWith(5, 10);
        Assert.Equal([1L, 2, 3, 4, 5], log.Since(0)!.Select(e => e.Seq));
        Assert.Equal(5, log.LastSeq);
        Assert.Equal(5, log.Latest!.Seq);
    }

    [Fact]
    public void Replay_gives_exactly_the_missed_events_in_order()
    {
        var log = LogWith(8, 10);
        Assert.Equal([6L, 7, 8], log.Since(5)!.Select(e => e.Seq));
        Assert.Empty(log.Since(8)!);
    }

    [Fact]
    public void A_gap_that_left_the_buffer_or_a_future_seq_cannot_be_replayed()
    {
        var log = LogWith(10, 4); // holds 7..10
        Assert.Equal([7L, 8, 9, 10], log.Since(6)!.Select(e => e.Seq));
        Assert.Null(log.Since(5));
        Assert.Null(log.Since(11));
        Assert.Null(log.Since(-1));
    }

    [Fact]
    public void The_buffer_is_bounded_by_bytes_too_but_keeps_the_newest_event()
    {
        var log = new TopicLog("ui", capacity: 100, maxBytes: 1000);
        for (var i = 0; i < 10; i++)
            log.Append("phone", new byte[300], Now);

        Assert.Equal([8L, 9, 10], log.Since(7)!.Select(e => e.Seq));
        Assert.Null(log.Since(6));
        Assert.Equal(900, log.BufferedBytes);

        log.Append("phone", new byte[5000], Now);
        Assert.Equal([11L], log.Since(10)!.Select(e => e.Seq));
    }
}
