using Abpa3.Actors.Remoting;

namespace Abpa3.Actors.Pairing;

/// <summary>What the other device is to this one.</summary>
public enum PeerRole { Manager, Sensor }

/// <summary>
/// A device paired with this one over the PAKE (SPEC §5). Only the two per-direction MAC keys derived
/// from the pair's shared secret are held, never the secret itself. A pairing the manager has started
/// but whose outcome it has not heard yet is <see cref="Pending"/>: it becomes complete as soon as the
/// peer proves over the link that it holds the same keys.
/// </summary>
public sealed record PeerDevice(
    string DeviceId,
    string Name,
    PeerRole Role,
    string CertSha256,
    string RemoteAddress,
    string HttpUrl,
    string OutgoingKey,
    string IncomingKey,
    DateTimeOffset PairedAt,
    DateTimeOffset? LastSeen,
    bool Revoked,
    bool Pending)
{
    public const int MaxNameLength = 64;

    public PairKeys Keys() => PairKeys.FromStored(Convert.FromBase64String(OutgoingKey), Convert.FromBase64String(IncomingKey));

    /// <summary>Whether the link may carry traffic: paired (or pending, so it can complete), and not revoked.</summary>
    public bool Linkable => !Revoked;

    public override string ToString() => $"PeerDevice {{ {DeviceId}, {Role}, {(Revoked ? "revoked" : Pending ? "pending" : "paired")} }}";
}
