using Abpa3.Actors.Serialization;

namespace Abpa3.Actors.Pairing;

/// <summary>Everything the <see cref="PairingCoordinator"/> writes to its journal.</summary>
public interface IPairingEvent : IPersistedMessage;

public static class PairingEvents
{
    /// <summary>The device was claimed: its first account, the owner. The device becomes configured.</summary>
    public sealed record OwnerCreated(string Username, string PasswordHash, DateTimeOffset At) : IPairingEvent;

    /// <summary>The owner added an administrator.</summary>
    public sealed record AdminAdded(string Username, string PasswordHash, DateTimeOffset At) : IPairingEvent;
}

/// <summary>The coordinator's snapshot: its whole state, so recovery replays only what came after.</summary>
public sealed record PairingSnapshot(
    Device.DeviceState State,
    Device.DeviceRole Role,
    string? ManagerDeviceId,
    IReadOnlyList<UserAccount> Users) : IPersistedMessage;
