using Akka.Configuration;

namespace Abpa3.Actors.Device;

/// <summary>The device supervisor's limits, read from <c>abpa3.device</c>.</summary>
public sealed record DeviceSettings(int MaxWrongSetupCodes, int MaxPendingWhileRecovering)
{
    public static DeviceSettings FromConfig(Config config)
    {
        var device = config.GetConfig("abpa3.device") ?? throw new ConfigurationException("missing abpa3.device");
        var settings = new DeviceSettings(device.GetInt("max-wrong-setup-codes"), device.GetInt("max-pending-while-recovering"));
        return settings is { MaxWrongSetupCodes: > 0, MaxPendingWhileRecovering: > 0 }
            ? settings
            : throw new ConfigurationException("abpa3.device limits must be positive");
    }
}
