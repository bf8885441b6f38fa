namespace Abpa3.Actors.Pairing;

/// <summary>Requests that may change pairing state; each is answered with one of <see cref="PairingReplies"/>.</summary>
public interface IPairingCommand;

public static class PairingCommands
{
    /// <summary>
    /// Create the owner account. Internal: only the device supervisor sends it, after the setup code
    /// matched, so no other sender of pairing commands can claim the device.
    /// </summary>
    internal sealed record CreateOwner(string Username, string PasswordHash) : IPairingCommand;

    /// <summary>Add an administrator account (the edge only lets the owner ask).</summary>
    public sealed record AddAdmin(string Username, string PasswordHash) : IPairingCommand;

    /// <summary>Issue a one-time QR pairing token (the edge made it and keeps the clear text only for the QR image).</summary>
    public sealed record IssuePairingToken(string TokenId, string TokenHash, TimeSpan Lifetime, int MaxLiveTokens) : IPairingCommand;

    /// <summary>Pair a client with a token; the edge made the device key and sends only its hash.</summary>
    public sealed record PairClient(string TokenHash, string DeviceId, string Name, string Type, string KeyHash) : IPairingCommand;

    /// <summary>Revoke a client device: its key is refused from now on, across restarts.</summary>
    public sealed record RevokeClient(string DeviceId) : IPairingCommand;

    /// <summary>
    /// Target side, once the manager's proof checked out: record the manager (and, on an unconfigured
    /// device, the manager's owner account, password hash only). Answered with <see cref="PairingReplies.PeerAccepted"/>.
    /// </summary>
    public sealed record AcceptManager(PeerDevice Manager, string? OwnerUsername, string? OwnerPasswordHash) : IPairingCommand;

    /// <summary>Manager side, before its proof leaves: remember the sensor and the keys as pending.</summary>
    public sealed record BeginSensorPairing(PeerDevice Sensor) : IPairingCommand;

    /// <summary>Manager side: the sensor proved the keys (its acceptance, or a valid message over the link).</summary>
    public sealed record CompleteSensorPairing(string DeviceId) : IPairingCommand;

    /// <summary>Manager side: the sensor refused, or never committed; forget the pending pairing.</summary>
    public sealed record AbandonSensorPairing(string DeviceId) : IPairingCommand;

    /// <summary>Revoke a paired device: its certificate and keys are refused from now on, across restarts.</summary>
    public sealed record RevokePeer(string DeviceId) : IPairingCommand;

    /// <summary>A peer announced (in a signed heartbeat) that its link now listens elsewhere.</summary>
    public sealed record MovePeer(string DeviceId, string RemoteAddress) : IPairingCommand;
}

public enum RefusalReason
{
    WrongSetupCode, SetupLocked, AlreadyConfigured, NotConfigured, InvalidAccount, UsernameTaken,
    TokenNotValid, TooManyTokens, UnknownDevice, DeviceIdTaken, AlreadyPaired, NotAManager, PairingLocked, Busy, AttemptExpired, InvalidHandshake,
}

public static class PairingReplies
{
    public sealed record AccountCreated(UserAccount Account);

    public sealed record Refused(RefusalReason Reason, string Message);

    public sealed record PairingTokenAccepted(string TokenId, DateTimeOffset ExpiresAt);

    public sealed record ClientAccepted(ClientDevice Client);

    /// <summary>The client is revoked (also when it already was: revoking is idempotent).</summary>
    public sealed record ClientRevokedReply(ClientDevice Client);

    /// <summary>The peer as recorded (paired, pending, or abandoned when <see cref="Abandoned"/>).</summary>
    public sealed record PeerAccepted(PeerDevice Peer, bool Abandoned = false);

    /// <summary>The peer is revoked (also when it already was).</summary>
    public sealed record PeerRevokedReply(PeerDevice Peer);
}
