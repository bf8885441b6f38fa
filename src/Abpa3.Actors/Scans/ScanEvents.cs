using Abpa3.Actors.Sensor;
using Abpa3.Actors.Serialization;

namespace Abpa3.Actors.Scans;

/// <summary>Everything a <see cref="ScanActor"/> writes to its journal (SPEC §7).</summary>
public interface IScanEvent : IPersistedMessage;

public static class ScanEvents
{
    public sealed record ScanStarted(string ScanId, int Width, int Height, int Segments, long Seed, double RowsPerSecond,
        IReadOnlyList<string> Sensors, DateTimeOffset At) : IScanEvent
    {
        public ScanParameters Parameters => new(Width, Height, Segments, Seed, RowsPerSecond);
    }

    /// <summary>A segment goes to a sensor: first assignment, reassignment after its sensor left, or re-admission.</summary>
    public sealed record SegmentAssigned(int Segment, string Sensor, string? From, DateTimeOffset At) : IScanEvent;

    /// <summary>Its sensor left and no other is there: the segment waits (the scan is paused if nothing runs).</summary>
    public sealed record SegmentUnassigned(int Segment, string From, DateTimeOffset At) : IScanEvent;

    /// <summary>A segment's result arrived (the first one counts; later copies are acknowledged and dropped).</summary>
    public sealed record SegmentCompleted(int Segment, string Sensor, byte[] Data, DateTimeOffset At) : IScanEvent;

    public sealed record ScanCompleted(DateTimeOffset At) : IScanEvent;

    public sealed record ScanCancelled(DateTimeOffset At) : IScanEvent;

    /// <summary>The manager's index of its scans, so a restart brings every scan back.</summary>
    public sealed record ScanCreated(string ScanId, DateTimeOffset At) : IPersistedMessage;
}
