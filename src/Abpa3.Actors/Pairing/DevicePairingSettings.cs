using Akka.Configuration;

namespace Abpa3.Actors.Pairing;

/// <summary>The target side of device pairing, read from <c>abpa3.device-pairing</c>.</summary>
public sealed record DevicePairingSettings(
    int MaxWrongCodes,
    int MaxOpenAttempts,
    TimeSpan AttemptLifetime,
    int RequestPermits,
    TimeSpan RequestWindow,
    bool ExitAfterAccept)
{
    public static DevicePairingSettings FromConfig(Config config)
    {
        var pairing = config.GetConfig("abpa3.device-pairing") ?? throw new ConfigurationException("missing abpa3.device-pairing");
        var settings = new DevicePairingSettings(
            pairing.GetInt("max-wrong-codes"),
            pairing.GetInt("max-open-attempts"),
            pairing.GetTimeSpan("attempt-lifetime"),
            pairing.GetInt("request-permits"),
            pairing.GetTimeSpan("request-window"),
            config.GetBoolean("abpa3.faults.exit-after-pair-accept"));
        return settings is { MaxWrongCodes: > 0, MaxOpenAttempts: > 0, RequestPermits: > 0 }
               && settings.AttemptLifetime > TimeSpan.Zero && settings.RequestWindow > TimeSpan.Zero
            ? settings
            : throw new ConfigurationException("abpa3.device-pairing needs positive limits and durations");
    }
}
