using Akka.Configuration;

namespace Abpa3.Actors.Sensor;

/// <summary>The sensor side's settings, read from <c>abpa3.sensor</c>.</summary>
public sealed record SensorSettings(string Driver, TimeSpan Tick, TimeSpan ResendInterval, int SnapshotEvery, TimeSpan ManagerGracePeriod)
{
    public static SensorSettings FromConfig(Config config)
    {
        var sensor = config.GetConfig("abpa3.sensor") ?? throw new ConfigurationException("missing abpa3.sensor");
        var settings = new SensorSettings(sensor.GetString("driver"), sensor.GetTimeSpan("tick"), sensor.GetTimeSpan("resend-interval"),
            sensor.GetInt("snapshot-every"), sensor.GetTimeSpan("manager-grace-period"));
        return settings.Tick > TimeSpan.Zero && settings.Driver is { Length: > 0 } && settings.ResendInterval > TimeSpan.Zero
               && settings.SnapshotEvery > 0 && settings.ManagerGracePeriod > TimeSpan.Zero
            ? settings
            : throw new ConfigurationException("abpa3.sensor needs a driver and a positive tick");
    }

    /// <summary>The configured driver: "simulated", or the assembly-qualified name of an <see cref="ISensorDriver"/> with a parameterless constructor.</summary>
    public ISensorDriver CreateDriver()
    {
        if (Driver == "simulated")
            return new SimulatedDriver();
        var type = Type.GetType(Driver, throwOnError: false)
                   ?? throw new ConfigurationException($"abpa3.sensor.driver: no type {Driver}");
        return typeof(ISensorDriver).IsAssignableFrom(type) && Activator.CreateInstance(type) is ISensorDriver driver
            ? driver
            : throw new ConfigurationException($"abpa3.sensor.driver: {Driver} is not an {nameof(ISensorDriver)}");
    }
}
