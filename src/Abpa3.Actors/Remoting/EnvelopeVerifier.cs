using System.Security.Cryptography;

namespace Abpa3.Actors.Remoting;

public enum EnvelopeVerdict { Accepted, NotForUs, UnknownSender, BadMac, Stale, Replayed }

/// <summary>
/// Checks what one peer sends to this device (SPEC §5, THREATS T6, T12): addressed to us, from that peer,
/// MAC correct under the peer→us key, sent within the freshness window of our clock, and never seen
/// before. Sequence numbers may arrive out of order within a window; a newer incarnation (the peer
/// restarted) starts afresh, and an older one is a replay.
/// </summary>
public sealed class EnvelopeVerifier(string self, string peer, PairKeys keys, TimeSpan freshness, TimeProvider clock)
{
    /// <summary>How far behind the highest sequence number an envelope may still arrive (once).</summary>
    public const int ReorderWindow = 64;

    private readonly IncrementalHash _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, keys.Incoming);
    private long _incarnation = long.MinValue;
    private long _highest;
    private ulong _seenBelowHighest; // bit i: sequence (_highest - 1 - i) was accepted

    public EnvelopeVerdict Verify(SignedEnvelope envelope)
    {
        if (envelope.Receiver != self)
            return EnvelopeVerdict.NotForUs; // includes our own envelopes reflected back to us
        if (envelope.Sender != peer)
            return EnvelopeVerdict.UnknownSender;
        var expected = SignedEnvelope.ComputeMac(_hmac,
            envelope.Sender, envelope.Receiver, envelope.Incarnation, envelope.Sequence, envelope.TimestampMs, envelope.Manifest, envelope.Payload);
        if (!CryptographicOperations.FixedTimeEquals(expected, envelope.Mac))
            return EnvelopeVerdict.BadMac;
        var age = clock.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(envelope.TimestampMs, -62135596800000L, 253402300799999L));
        if (age.Duration() > freshness)
            return EnvelopeVerdict.Stale;
        if (envelope.Sequence <= 0 || envelope.Incarnation < _incarnation)
            return EnvelopeVerdict.Replayed;
        if (envelope.Incarnation > _incarnation)
        {
            _incarnation = envelope.Incarnation;
            _highest = 0;
            _seenBelowHighest = 0;
        }
        return Admit(envelope.Sequence) ? EnvelopeVerdict.Accepted : EnvelopeVerdict.Replayed;
    }

    private bool Admit(long sequence)
    {
        if (sequence > _highest)
        {
            var shift = sequence - _highest;
            _seenBelowHighest = shift >= ReorderWindow ? 0 : (_seenBelowHighest << (int)shift) | (_highest > 0 ? 1UL << (int)(shift - 1) : 0);
            _highest = sequence;
            return true;
        }
        var behind = _highest - sequence; // ≥ 1
        if (sequence == _highest || behind > ReorderWindow)
            return false;
        var bit = 1UL << (int)(behind - 1);
        if ((_seenBelowHighest & bit) != 0)
            return false;
        _seenBelowHighest |= bit;
        return true;
    }
}
