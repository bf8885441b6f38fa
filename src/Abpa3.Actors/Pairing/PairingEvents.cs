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

    /// <summary>A one-time QR pairing token was issued; only its hash is kept.</summary>
    public sealed record PairingTokenIssued(string TokenId, string TokenHash, DateTimeOffset ExpiresAt, DateTimeOffset At) : IPairingEvent;

    /// <summary>A client paired with a token, which is used up by it; only the device key's hash is kept.</summary>
    public sealed record ClientPaired(
        string TokenHash, string DeviceId, string Name, string Type, string KeyHash, DateTimeOffset At) : IPairingEvent;

    /// <summary>A client was seen (written at most once per interval per client, not on every message).</summary>
    public sealed record ClientSeen(string DeviceId, DateTimeOffset At) : IPairingEvent;

    /// <summary>A client's key is refused from now on, for good.</summary>
    public sealed record ClientRevoked(string DeviceId, DateTimeOffset At) : IPairingEvent;
}

/// <summary>The coordinator's snapshot: its whole state, so recovery replays only what came after.</summary>
public sealed record PairingSnapshot(
    Device.DeviceState State,
    Device.DeviceRole Role,
    string? ManagerDeviceId,
    IReadOnlyList<UserAccount> Users,
    IReadOnlyList<PairingToken>? Tokens = null,
    IReadOnlyList<ClientDevice>? Clients = null) : IPersistedMessage;
