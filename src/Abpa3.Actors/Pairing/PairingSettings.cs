using Akka.Configuration;

namespace Abpa3.Actors.Pairing;

/// <summary>The pairing coordinator's tuning, read from <c>abpa3.pairing</c>.</summary>
public sealed record PairingSettings(int SnapshotEvery, TimeSpan RestartMinBackoff, TimeSpan RestartMaxBackoff)
{
    public static PairingSettings FromConfig(Config config)
    {
        var pairing = config.GetConfig("abpa3.pairing") ?? throw new ConfigurationException("missing abpa3.pairing");
        var settings = new PairingSettings(
            pairing.GetInt("snapshot-every"),
            pairing.GetTimeSpan("restart-min-backoff"),
            pairing.GetTimeSpan("restart-max-backoff"));
        return settings.SnapshotEvery > 0 ? settings : throw new ConfigurationException("abpa3.pairing.snapshot-every must be positive");
    }
}
