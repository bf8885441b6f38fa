namespace Abpa3.Actors.Scans;

/// <summary>The SPEC's wire spelling of a scan's state.</summary>
public static class ScanViews
{
    public static string Describe(ScanState state, bool paused) => state.Phase switch
    {
        ScanPhase.Running => paused ? "paused" : "running",
        ScanPhase.Completed => "completed",
        ScanPhase.Cancelled => "cancelled",
        _ => "failed",
    };
}
