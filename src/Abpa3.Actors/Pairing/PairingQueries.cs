using Abpa3.Actors.Device;

namespace Abpa3.Actors.Pairing;

/// <summary>Read-only questions to the <see cref="PairingCoordinator"/>.</summary>
public interface IPairingQuery;

public static class PairingQueries
{
    /// <summary>Answered with <see cref="UserFound"/> or <see cref="UserNotFound"/>.</summary>
    public sealed record GetUser(string Username) : IPairingQuery;

    public sealed record UserFound(UserAccount Account);

    public sealed record UserNotFound(string Username);

    /// <summary>Told by the coordinator to its parent after recovery and after every change of the lifecycle.</summary>
    public sealed record LifecycleChanged(DeviceLifecycle Lifecycle);
}
