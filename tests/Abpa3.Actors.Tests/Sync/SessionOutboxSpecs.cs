using Abpa3.Actors.Sync;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Actors.Tests.Sync;

public class SessionOutboxSpecs
{
    private static Event EventOf(int bytes, long seq = 1) => new(new SyncEvent("ui", seq, DateTimeOffset.UnixEpoch, "phone", new byte[bytes]));

    [Fact]
    public void Events_are_bounded_by_count_and_by_bytes_but_one_always_fits()
    {
        var byCount = new SessionOutbox(maxEvents: 2, maxEventBytes: 1 << 20, maxControl: 4);
        Assert.True(byCount.TryWrite(EventOf(10)));
        Assert.True(byCount.TryWrite(EventOf(10)));
        Assert.False(byCount.TryWrite(EventOf(10)));

        var byBytes = new SessionOutbox(maxEvents: 100, maxEventBytes: 1000, maxControl: 4);
        Assert.True(byBytes.TryWrite(EventOf(5000))); // alone, even an oversized event goes through
        Assert.False(byBytes.TryWrite(EventOf(10)));
    }

    [Fact]
    public void Control_answers_have_their_own_room_while_events_are_held_back()
    {
        var outbox = new SessionOutbox(maxEvents: 1, maxEventBytes: 1 << 20, maxControl: 2);
        Assert.True(outbox.TryWrite(EventOf(10)));
        Assert.False(outbox.TryWrite(EventOf(10)));

        Assert.True(outbox.TryWrite(Pong.Instance));
        Assert.True(outbox.TryWrite(new Ack("m1", 1)));
        Assert.False(outbox.TryWrite(Pong.Instance));
    }

    [Fact]
    public async Task Reading_frees_room_and_a_drain_request_on_an_empty_outbox_reports_at_once()
    {
        var outbox = new SessionOutbox(maxEvents: 1, maxEventBytes: 1 << 20, maxControl: 2);
        outbox.TryWrite(EventOf(10));
        Assert.False(outbox.RequestDrainSignal()); // not empty: the send loop will signal

        await using var reading = outbox.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await reading.MoveNextAsync());
        Assert.True(outbox.IsEmpty);
        Assert.True(outbox.TakeDrainSignal());
        Assert.True(outbox.TryWrite(EventOf(10)));

        await reading.MoveNextAsync();
        Assert.True(outbox.RequestDrainSignal()); // emptied before the request: the caller repairs now
    }

    [Fact]
    public void Closing_stops_everything_at_once_and_remembers_the_code()
    {
        var outbox = new SessionOutbox(maxEvents: 4, maxEventBytes: 1 << 20, maxControl: 2);
        outbox.TryWrite(EventOf(10));

        outbox.Close(4403, "device revoked");
        outbox.Close(1000, "later closes do not replace the first");

        Assert.True(outbox.Closing.IsCancellationRequested);
        Assert.Equal(new Close(4403, "device revoked"), outbox.CloseRequested);
        Assert.False(outbox.TryWrite(Pong.Instance));
    }
}
