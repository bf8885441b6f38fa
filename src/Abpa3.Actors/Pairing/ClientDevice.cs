namespace Abpa3.Actors.Pairing;

/// <summary>A phone, tablet or browser paired by QR code. Only the hash of its device key is held.</summary>
public sealed record ClientDevice(
    string DeviceId,
    string Name,
    string Type,
    string KeyHash,
    DateTimeOffset PairedAt,
    DateTimeOffset? LastSeen,
    bool Revoked)
{
    public const int MaxNameLength = 64;
    public const int MaxTypeLength = 32;
}

/// <summary>A one-time pairing token, known by its hash; it leaves the state when used or expired.</summary>
public sealed record PairingToken(string TokenId, string TokenHash, DateTimeOffset ExpiresAt);
