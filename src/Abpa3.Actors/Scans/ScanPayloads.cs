using Abpa3.Actors.Peers;
using Abpa3.Actors.Sensor;

namespace Abpa3.Actors.Scans;

/// <summary>What a manager and its sensors say about scans, inside signed envelopes.</summary>
public static class ScanPayloads
{
    /// <summary>Manager → sensor: produce this segment of this scan (sent again until its result arrives).</summary>
    public sealed record RunSegment(string ScanId, int Segment, int Width, int Height, int Segments, long Seed, double RowsPerSecond) : IPeerPayload
    {
        public ScanParameters Parameters => new(Width, Height, Segments, Seed, RowsPerSecond);

        public static RunSegment For(string scanId, int segment, ScanParameters p) =>
            new(scanId, segment, p.Width, p.Height, p.Segments, p.Seed, p.RowsPerSecond);
    }

    /// <summary>Sensor → manager: a finished segment (sent again until acknowledged).</summary>
    public sealed record SegmentResult(string ScanId, int Segment, byte[] Data) : IPeerPayload;

    /// <summary>Manager → sensor: the result is recorded; the sensor may forget it.</summary>
    public sealed record SegmentAck(string ScanId, int Segment) : IPeerPayload;

    /// <summary>Manager → sensor: stop working on this scan.</summary>
    public sealed record CancelScan(string ScanId) : IPeerPayload;
}
