using Akka.Configuration;

namespace Abpa3.Actors.Pairing;

/// <summary>The pairing coordinator's tuning, read from <c>abpa3.pairing</c>.</summary>
public sealed record PairingSettings(
    int SnapshotEvery,
    TimeSpan RestartMinBackoff,
    TimeSpan RestartMaxBackoff,
    TimeSpan LastSeenWriteInterval,
    TimeSpan TokenLifetime,
    int MaxLiveTokens)
{
    public static PairingSettings FromConfig(Config config)
    {
        var pairing = config.GetConfig("abpa3.pairing") ?? throw new ConfigurationException("missing abpa3.pairing");
        var settings = new PairingSettings(
            pairing.GetInt("snapshot-every"),
            pairing.GetTimeSpan("restart-min-backoff"),
            pairing.GetTimeSpan("restart-max-backoff"),
            pairing.GetTimeSpan("last-seen-write-interval"),
            pairing.GetTimeSpan("token-lifetime"),
            pairing.GetInt("max-live-tokens"));
        return settings is { SnapshotEvery: > 0, MaxLiveTokens: > 0 } && settings.TokenLifetime > TimeSpan.Zero
            ? settings
            : throw new ConfigurationException("abpa3.pairing needs a positive snapshot-every, token-lifetime and max-live-tokens");
    }
}
