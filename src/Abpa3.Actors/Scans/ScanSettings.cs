using Akka.Configuration;

namespace Abpa3.Actors.Scans;

/// <summary>The manager's scan settings, read from <c>abpa3.scans</c>.</summary>
public sealed record ScanSettings(TimeSpan RetryInterval, int MaxScans, TimeSpan QueryTimeout, TimeSpan RecoveryGrace)
{
    public static ScanSettings FromConfig(Config config)
    {
        var scans = config.GetConfig("abpa3.scans") ?? throw new ConfigurationException("missing abpa3.scans");
        var settings = new ScanSettings(scans.GetTimeSpan("retry-interval"), scans.GetInt("max-scans"), scans.GetTimeSpan("query-timeout"),
            scans.GetTimeSpan("recovery-grace"));
        return settings.RetryInterval > TimeSpan.Zero && settings.MaxScans > 0 && settings.QueryTimeout > TimeSpan.Zero
               && settings.RecoveryGrace >= TimeSpan.Zero
            ? settings
            : throw new ConfigurationException("abpa3.scans needs a positive retry-interval, max-scans and query-timeout, and a recovery-grace of 0 or more");
    }
}
