using Abpa3.Actors.Identity;

namespace Abpa3.Actors.Device;

public enum DeviceState { Unconfigured, Configured, Paired, Standalone }

public enum DeviceRole { None, Manager, Sensor }

/// <summary>A requested lifecycle change: either the next lifecycle, or why it is not allowed now.</summary>
public sealed record LifecycleTransition(DeviceLifecycle? Next, string? Refusal)
{
    public bool Allowed => Next is not null;
    internal static LifecycleTransition To(DeviceLifecycle next) => new(next, null);
    internal static LifecycleTransition Refuse(string reason) => new(null, reason);
}

/// <summary>
/// The device state machine (SPEC §3), as pure rules:
/// <c>unconfigured → configured → paired</c>, and a paired sensor goes <c>standalone</c> while its
/// manager is unreachable and back to <c>paired</c> when it returns.
/// </summary>
public sealed record DeviceLifecycle(DeviceState State, DeviceRole Role, DeviceId? ManagerDeviceId)
{
    public static readonly DeviceLifecycle Initial = new(DeviceState.Unconfigured, DeviceRole.None, null);

    public bool IsManager => Role == DeviceRole.Manager;

    /// <summary>The first owner account exists.</summary>
    public LifecycleTransition OwnerCreated() =>
        State == DeviceState.Unconfigured
            ? LifecycleTransition.To(this with { State = DeviceState.Configured })
            : LifecycleTransition.Refuse($"the device is already {Describe(State)}");

    /// <summary>This device paired a sensor and is its manager from now on.</summary>
    public LifecycleTransition PairedAsManager() => (State, Role) switch
    {
        (DeviceState.Configured, _) or (DeviceState.Paired, DeviceRole.Manager) =>
            LifecycleTransition.To(new DeviceLifecycle(DeviceState.Paired, DeviceRole.Manager, null)),
        (DeviceState.Unconfigured, _) => LifecycleTransition.Refuse("a device needs an owner before it can manage others"),
        _ => LifecycleTransition.Refuse("a sensor cannot manage other devices"),
    };

    /// <summary>A manager paired this device as its sensor.</summary>
    public LifecycleTransition PairedAsSensor(DeviceId manager) => State switch
    {
        DeviceState.Unconfigured or DeviceState.Configured when Role == DeviceRole.None =>
            LifecycleTransition.To(new DeviceLifecycle(DeviceState.Paired, DeviceRole.Sensor, manager)),
        _ => LifecycleTransition.Refuse($"the device is already {Describe(State)}"),
    };

    /// <summary>The manager has been unreachable longer than the grace period.</summary>
    public LifecycleTransition ManagerUnreachable() =>
        State == DeviceState.Paired && Role == DeviceRole.Sensor
            ? LifecycleTransition.To(this with { State = DeviceState.Standalone })
            : LifecycleTransition.Refuse("only a paired sensor can go standalone");

    /// <summary>The manager is reachable again.</summary>
    public LifecycleTransition ManagerReachable() =>
        State == DeviceState.Standalone
            ? LifecycleTransition.To(this with { State = DeviceState.Paired })
            : LifecycleTransition.Refuse("only a standalone sensor can rejoin its manager");

    /// <summary>The last paired peer was revoked: the device keeps its owner and is configured again.</summary>
    public LifecycleTransition LastPeerRevoked() =>
        State is DeviceState.Paired or DeviceState.Standalone
            ? LifecycleTransition.To(new DeviceLifecycle(DeviceState.Configured, DeviceRole.None, null))
            : LifecycleTransition.Refuse("the device has no paired peers");

    /// <summary>The SPEC's wire spelling of a state.</summary>
    public static string Describe(DeviceState state) => state switch
    {
        DeviceState.Unconfigured => "unconfigured",
        DeviceState.Configured => "configured",
        DeviceState.Paired => "paired",
        DeviceState.Standalone => "standalone",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };
}
