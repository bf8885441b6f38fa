using Abpa3.Actors.Scans;
using Abpa3.Actors.Sensor;
using static Abpa3.Actors.Scans.ScanEvents;

namespace Abpa3.Actors.Tests.Scans;

/// <summary>The scan's assignment and completion rules, without an actor system.</summary>
public class ScanStateSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 1, 0, 0, TimeSpan.Zero);
    private static readonly ScanParameters Parameters = new(10, 40, 4, 7, 100);

    private static ScanState Fold(ScanState state, IEnumerable<IScanEvent> events) => events.Aggregate(state, (s, e) => s.Apply(e));

    private static ScanState Started(params string[] sensors) =>
        ScanState.Start(new ScanStarted("scan-1", 10, 40, 4, 7, 100, sensors, Now));

    private static byte[] Data(int segment) => new SimulatedDriver().ReadRows(Parameters, segment * 10, segment * 10 + 10);

    [Fact]
    public void Segments_spread_over_the_online_sensors()
    {
        var state = Fold(Started("a", "b"), Started("a", "b").Rebalance(new HashSet<string> { "a", "b" }, Now));
        Assert.Equal(["a", "b", "a", "b"], state.Segments.Select(s => s.Sensor));
        Assert.False(state.Paused);
    }

    [Fact]
    public void A_sensor_that_goes_offline_has_its_unfinished_segments_moved_and_done_ones_kept()
    {
        var state = Fold(Started("a", "b"), Started("a", "b").Rebalance(new HashSet<string> { "a", "b" }, Now));
        state = Fold(state, state.Complete(0, "a", Data(0), Now));
        var moves = state.Rebalance(new HashSet<string> { "b" }, Now);
        Assert.Equal([new SegmentAssigned(2, "b", "a", Now)], moves);
        state = Fold(state, moves);
        Assert.Equal(["a", "b", "b", "b"], state.Segments.Select(s => s.Sensor));
        Assert.True(state.Segments[0].Done);
    }

    [Fact]
    public void With_no_sensor_online_the_scan_pauses_and_a_returning_one_gets_the_waiting_segments()
    {
        var state = Fold(Started("a", "b"), Started("a", "b").Rebalance(new HashSet<string> { "a", "b" }, Now));
        state = Fold(state, state.Rebalance(new HashSet<string>(), Now));
        Assert.True(state.Paused);
        Assert.All(state.Segments, s => Assert.Null(s.Sensor));
        state = Fold(state, state.Rebalance(new HashSet<string> { "b" }, Now));
        Assert.False(state.Paused);
        Assert.All(state.Segments, s => Assert.Equal("b", s.Sensor));
        // Sensors that are not part of the scan never get its segments.
        Assert.Empty(Started("a").Rebalance(new HashSet<string> { "z" }, Now).OfType<SegmentAssigned>());
    }

    [Fact]
    public void Each_segment_counts_once_and_wrong_results_change_nothing()
    {
        var state = Fold(Started("a", "b"), Started("a", "b").Rebalance(new HashSet<string> { "a", "b" }, Now));
        state = Fold(state, state.Complete(1, "b", Data(1), Now));
        Assert.Empty(state.Complete(1, "a", Data(1), Now)); // a late copy from the sensor it was moved away from
        Assert.Empty(state.Complete(1, "b", Data(1), Now)); // a duplicate
        Assert.Empty(state.Complete(4, "a", new byte[100], Now)); // no such segment
        Assert.Empty(state.Complete(-1, "a", new byte[100], Now));
        Assert.Empty(state.Complete(2, "a", new byte[99], Now)); // wrong size
        Assert.Empty(state.Complete(2, "stranger", Data(2), Now)); // not a sensor of this scan
        Assert.Equal(1, state.DoneCount);
    }

    [Fact]
    public void Results_in_any_order_assemble_the_exact_grid_and_the_last_one_completes_the_scan()
    {
        var state = Fold(Started("a", "b"), Started("a", "b").Rebalance(new HashSet<string> { "a", "b" }, Now));
        foreach (var segment in new[] { 3, 0, 2 })
            state = Fold(state, state.Complete(segment, segment % 2 == 0 ? "a" : "b", Data(segment), Now));
        var last = state.Complete(1, "b", Data(1), Now);
        Assert.IsType<ScanCompleted>(last[^1]);
        state = Fold(state, last);
        Assert.Equal(ScanPhase.Completed, state.Phase);
        Assert.Equal(new SimulatedDriver().ReadRows(Parameters, 0, 40), state.Assemble());
        // Nothing moves once the scan is over.
        Assert.Empty(state.Rebalance(new HashSet<string>(), Now));
        Assert.Empty(state.Complete(1, "a", Data(1), Now));
    }

    [Fact]
    public void Segment_rows_cover_the_grid_exactly_once_for_uneven_splits()
    {
        var p = new ScanParameters(3, 10, 4, 1, 1);
        var rows = Enumerable.Range(0, 4).SelectMany(i => Enumerable.Range(p.SegmentRows(i).Start, p.SegmentRows(i).End - p.SegmentRows(i).Start)).ToList();
        Assert.Equal(Enumerable.Range(0, 10), rows);
        Assert.Equal(30, Enumerable.Range(0, 4).Sum(p.SegmentBytes));
    }
}
