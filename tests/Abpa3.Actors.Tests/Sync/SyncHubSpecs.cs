using System.Text.Json;
using Akka.Actor;
using Abpa3.Actors.Sync;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Actors.Tests.Sync;

/// <summary>The hub's replay, lag repair and coalescing, read straight from a session's outbox.</summary>
public sealed class SyncHubSpecs : Akka.TestKit.Xunit2.TestKit
{
    private const string Epoch = "epoch-1";
    private static readonly SyncSettings Settings = new(
        ReplayBufferPerTopic: 8, ReplayBufferBytesPerTopic: 1 << 20, OutboxCapacity: 256, OutboxMaxBytes: 1 << 20,
        OutboxControlMessages: 64, MaxSessionsPerDevice: 8, MaxMessageBytes: 65536, AuthTimeout: TimeSpan.FromSeconds(5),
        MessagesPerSecond: 50, MessageBurst: 100, MaxSubscriptionTopics: 5);

    private static SessionOutbox Outbox(int events) => new(events, 1 << 20, 64);

    private readonly IActorRef _hub;

    public SyncHubSpecs() => _hub = Sys.ActorOf(SyncHub.Props(Epoch, Settings, TimeProvider.System));

    private void Publish(string topic, int value, IActorRef? sender = null) =>
        _hub.Tell(new SyncHubProtocol.Publish(topic, "phone", JsonSerializer.SerializeToUtf8Bytes(new { value }), $"m{value}"), sender ?? TestActor);

    /// <summary>Waits until the hub has handled everything sent so far (it answers publishes in order).</summary>
    private void Settle()
    {
        var probe = CreateTestProbe();
        _hub.Tell(new SyncHubProtocol.Publish("scans", "node", JsonSerializer.SerializeToUtf8Bytes(0), "settle"), probe.Ref);
        probe.ExpectMsg<SyncHubProtocol.Published>();
    }

    private static List<IServerMessage> Drain(SessionOutbox outbox)
    {
        var taken = new List<IServerMessage>();
        // The send loop's own view of the outbox, read until it is momentarily empty.
        var reading = outbox.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator();
        while (!outbox.IsEmpty && reading.MoveNextAsync().AsTask().Result)
            taken.Add(reading.Current);
        return taken.Where(m => m is not Subscribed).ToList();
    }

    private static long[] Seqs(IEnumerable<IServerMessage> messages) => messages.OfType<Event>().Select(e => e.Body.Seq).ToArray();

    [Fact]
    public void Publishing_acks_the_sender_with_gap_free_sequence_numbers()
    {
        for (var i = 1; i <= 3; i++)
            Publish("ui", i);

        Assert.Equal([1L, 2, 3], Enumerable.Range(0, 3).Select(_ => ExpectMsg<SyncHubProtocol.Published>().Seq));
    }

    [Fact]
    public void Subscribing_with_since_replays_exactly_the_missed_events_then_goes_live()
    {
        for (var i = 1; i <= 5; i++)
            Publish("ui", i);
        var session = CreateTestProbe();
        var outbox = Outbox(256);

        _hub.Tell(new SyncHubProtocol.Subscribe(["ui"], new Dictionary<string, long> { ["ui"] = 2 }, Epoch, outbox), session.Ref);
        Publish("ui", 6);
        Settle();

        Assert.Equal([3L, 4, 5, 6], Seqs(Drain(outbox)));
    }

    [Fact]
    public void Another_epoch_or_a_gap_beyond_the_buffer_gets_resync_required_with_the_current_seq()
    {
        for (var i = 1; i <= 12; i++) // the buffer holds 8: 5..12
            Publish("ui", i);
        var outbox = Outbox(256);
        var otherOutbox = Outbox(256);

        _hub.Tell(new SyncHubProtocol.Subscribe(["ui"], new Dictionary<string, long> { ["ui"] = 2 }, Epoch, outbox), CreateTestProbe().Ref);
        _hub.Tell(new SyncHubProtocol.Subscribe(["ui"], new Dictionary<string, long> { ["ui"] = 11 }, "old-epoch", otherOutbox), CreateTestProbe().Ref);
        Settle();

        Assert.Equal(new ResyncRequired("ui", 12), Assert.Single(Drain(outbox)));
        Assert.Equal(new ResyncRequired("ui", 12), Assert.Single(Drain(otherOutbox)));
    }

    [Fact]
    public void A_full_outbox_lags_and_is_replayed_in_order_once_drained()
    {
        var session = CreateTestProbe();
        var outbox = Outbox(2);
        _hub.Tell(new SyncHubProtocol.Subscribe(["ui"], null, Epoch, outbox), session.Ref);
        for (var i = 1; i <= 5; i++)
            Publish("ui", i);
        Settle();

        var seen = Seqs(Drain(outbox)).ToList();
        Assert.Equal([1L, 2], seen);
        while (seen.Count < 5)
        {
            Assert.True(outbox.TakeDrainSignal(), "the hub did not ask to hear of the drain");
            _hub.Tell(SyncHubProtocol.Drained.Instance, session.Ref);
            Settle();
            seen.AddRange(Seqs(Drain(outbox)));
        }
        Assert.Equal([1L, 2, 3, 4, 5], seen);
    }

    [Fact]
    public void A_lagging_voice_subscriber_gets_the_newest_value_not_the_backlog()
    {
        var session = CreateTestProbe();
        var outbox = Outbox(2);
        _hub.Tell(new SyncHubProtocol.Subscribe(["voice"], null, Epoch, outbox), session.Ref);
        for (var i = 1; i <= 6; i++)
            Publish("voice", i);
        Settle();
        Assert.Equal([1L, 2], Seqs(Drain(outbox)));

        _hub.Tell(SyncHubProtocol.Drained.Instance, session.Ref);
        Settle();

        Assert.Equal([6L], Seqs(Drain(outbox)));
    }

    [Fact]
    public void A_stopped_session_gets_nothing_more()
    {
        var session = CreateTestProbe();
        var outbox = Outbox(256);
        _hub.Tell(new SyncHubProtocol.Subscribe(["ui"], null, Epoch, outbox), session.Ref);
        Settle();
        Watch(session.Ref);
        Sys.Stop(session.Ref);
        ExpectTerminated(session.Ref);

        AwaitAssert(() =>
        {
            Publish("ui", 1, CreateTestProbe().Ref);
            Settle();
            Assert.Empty(Drain(outbox));
        });
    }

    [Fact]
    public void A_publish_retried_after_a_lost_ack_is_acked_again_not_appended_twice()
    {
        Publish("ui", 1);
        Publish("ui", 1); // same id "m1" from the same source
        Publish("ui", 2);

        Assert.Equal([1L, 1, 2], Enumerable.Range(0, 3).Select(_ => ExpectMsg<SyncHubProtocol.Published>().Seq));
    }

    [Fact]
    public async Task Since_without_an_epoch_replays_within_this_epoch_and_the_client_learns_where_it_stands()
    {
        for (var i = 1; i <= 4; i++)
            Publish("ui", i);
        var outbox = Outbox(256);

        _hub.Tell(new SyncHubProtocol.Subscribe(["ui", "agent"], new Dictionary<string, long> { ["ui"] = 3 }, null, outbox), CreateTestProbe().Ref);
        Settle();

        await using var reading = outbox.ReadAllAsync(CancellationToken.None).GetAsyncEnumerator();
        Assert.True(await reading.MoveNextAsync());
        Assert.Equal(4, Assert.IsType<Event>(reading.Current).Body.Seq);
        Assert.True(await reading.MoveNextAsync());
        var subscribed = Assert.IsType<Subscribed>(reading.Current);
        Assert.Equal(4, subscribed.Seqs["ui"]);
        Assert.Equal(0, subscribed.Seqs["agent"]);
    }
}
