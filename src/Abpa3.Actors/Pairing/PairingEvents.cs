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

    /// <summary>Target side: a manager paired this device as its sensor (the key exchange succeeded here).</summary>
    public sealed record PeerPaired(PeerDevice Peer) : IPairingEvent;

    /// <summary>
    /// Manager side, written before the manager's proof leaves for the target: if the answer is lost
    /// (the target crashed after accepting), the manager still holds the keys the target may have
    /// committed, and completes the pairing when the target proves them over the link.
    /// </summary>
    public sealed record PeerPairingPending(PeerDevice Peer) : IPairingEvent;

    /// <summary>Manager side: the target proved it holds the pair's keys; the sensor is paired.</summary>
    public sealed record PeerPairingCompleted(string DeviceId, DateTimeOffset At) : IPairingEvent;

    /// <summary>Manager side: the target refused the proof, or never committed; the attempt is forgotten.</summary>
    public sealed record PeerPairingAbandoned(string DeviceId, DateTimeOffset At) : IPairingEvent;

    /// <summary>A peer's keys and certificate are refused from now on, for good.</summary>
    public sealed record PeerRevoked(string DeviceId, DateTimeOffset At) : IPairingEvent;

    /// <summary>A peer's link address changed (it said so in a signed heartbeat).</summary>
    public sealed record PeerMoved(string DeviceId, string RemoteAddress, DateTimeOffset At) : IPairingEvent;

    /// <summary>A peer was heard from (written at most once per interval per peer).</summary>
    public sealed record PeerSeen(string DeviceId, DateTimeOffset At) : IPairingEvent;
}

/// <summary>The coordinator's snapshot: its whole state, so recovery replays only what came after.</summary>
public sealed record PairingSnapshot(
    Device.DeviceState State,
    Device.DeviceRole Role,
    string? ManagerDeviceId,
    IReadOnlyList<UserAccount> Users,
    IReadOnlyList<PairingToken>? Tokens = null,
    IReadOnlyList<ClientDevice>? Clients = null,
    IReadOnlyList<PeerDevice>? Peers = null) : IPersistedMessage;
