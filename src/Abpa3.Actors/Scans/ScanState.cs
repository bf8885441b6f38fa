using System.Collections.Immutable;
using Abpa3.Actors.Sensor;
using static Abpa3.Actors.Scans.ScanEvents;

namespace Abpa3.Actors.Scans;

public enum ScanPhase { Running, Completed, Cancelled }

/// <summary>One segment: which sensor has it, and its bytes once done.</summary>
public sealed record SegmentState(string? Sensor, byte[]? Data)
{
    public bool Done => Data is not null;
}

/// <summary>
/// A scan's state and its assignment rules, free of any actor: which events a sensor leaving, a sensor
/// coming back or a result arriving lead to, and how events fold into state.
/// </summary>
public sealed record ScanState(
    string ScanId,
    ScanParameters Parameters,
    ImmutableArray<string> Sensors,
    ImmutableArray<SegmentState> Segments,
    ScanPhase Phase,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt)
{
    public static ScanState Start(ScanStarted e) => new(e.ScanId, e.Parameters, [.. e.Sensors],
        [.. Enumerable.Repeat(new SegmentState(null, null), e.Segments)], ScanPhase.Running, e.At, null);

    public int DoneCount => Segments.Count(s => s.Done);

    public double Progress => Segments.Length == 0 ? 1 : (double)DoneCount / Segments.Length;

    /// <summary>Running, with segments to do and none of them on a sensor: it waits for one to come back.</summary>
    public bool Paused => Phase == ScanPhase.Running && Segments.Any(s => !s.Done) && Segments.All(s => s.Done || s.Sensor is null);

    /// <summary>Segments that are assigned and unfinished, by sensor.</summary>
    public IEnumerable<(int Segment, string Sensor)> Outstanding() =>
        Segments.Select((s, i) => (s, i)).Where(x => !x.s.Done && x.s.Sensor is not null).Select(x => (x.i, x.s.Sensor!));

    /// <summary>
    /// Gives every unfinished segment that has no sensor, or whose sensor is offline, to the online sensor
    /// with the least work (ties: the order the scan lists them). No online sensor: such segments wait.
    /// </summary>
    public IReadOnlyList<IScanEvent> Rebalance(IReadOnlySet<string> online, DateTimeOffset now)
    {
        if (Phase != ScanPhase.Running)
            return [];
        var available = Sensors.Where(online.Contains).ToList();
        var load = available.ToDictionary(s => s, s => Segments.Count(x => !x.Done && x.Sensor == s));
        var events = new List<IScanEvent>();
        for (var i = 0; i < Segments.Length; i++)
        {
            var segment = Segments[i];
            if (segment.Done || (segment.Sensor is { } current && online.Contains(current)))
                continue;
            if (available.Count == 0)
            {
                if (segment.Sensor is { } gone)
                    events.Add(new SegmentUnassigned(i, gone, now));
                continue;
            }
            var next = available.MinBy(s => load[s])!;
            load[next]++;
            events.Add(new SegmentAssigned(i, next, segment.Sensor, now));
        }
        return events;
    }

    /// <summary>A result for a segment: the first valid one completes it (and maybe the scan); anything else changes nothing.</summary>
    public IReadOnlyList<IScanEvent> Complete(int segment, string sensor, byte[] data, DateTimeOffset now)
    {
        if (Phase != ScanPhase.Running || segment < 0 || segment >= Segments.Length || Segments[segment].Done
            || !Sensors.Contains(sensor) || data.Length != Parameters.SegmentBytes(segment))
            return [];
        List<IScanEvent> events = [new SegmentCompleted(segment, sensor, data, now)];
        if (DoneCount + 1 == Segments.Length)
            events.Add(new ScanCompleted(now));
        return events;
    }

    public ScanState Apply(IScanEvent @event) => @event switch
    {
        SegmentAssigned e => this with { Segments = Segments.SetItem(e.Segment, Segments[e.Segment] with { Sensor = e.Sensor }) },
        SegmentUnassigned e => this with { Segments = Segments.SetItem(e.Segment, Segments[e.Segment] with { Sensor = null }) },
        SegmentCompleted e => this with { Segments = Segments.SetItem(e.Segment, new SegmentState(e.Sensor, e.Data)) },
        ScanCompleted e => this with { Phase = ScanPhase.Completed, FinishedAt = e.At },
        ScanCancelled e => this with { Phase = ScanPhase.Cancelled, FinishedAt = e.At },
        ScanStarted => this,
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown scan event"),
    };

    /// <summary>The assembled result: every segment's bytes in order (only complete once the scan is).</summary>
    public byte[] Assemble()
    {
        var result = new byte[Parameters.TotalBytes];
        for (var i = 0; i < Segments.Length; i++)
            if (Segments[i].Data is { } data)
                data.CopyTo(result, (long)Parameters.SegmentRows(i).Start * Parameters.Width);
        return result;
    }
}
