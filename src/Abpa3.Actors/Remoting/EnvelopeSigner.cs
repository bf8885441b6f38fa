using System.Security.Cryptography;

namespace Abpa3.Actors.Remoting;

/// <summary>Signs what this device sends to one peer: a fresh sequence number each time, within this boot's incarnation.</summary>
public sealed class EnvelopeSigner(string self, string peer, long incarnation, PairKeys keys, TimeProvider clock)
{
    private long _sequence;
    private readonly IncrementalHash _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, keys.Outgoing);

    public SignedEnvelope Sign(string manifest, byte[] payload)
    {
        var sequence = ++_sequence;
        var timestamp = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var mac = SignedEnvelope.ComputeMac(_hmac, self, peer, incarnation, sequence, timestamp, manifest, payload);
        return new SignedEnvelope(self, peer, incarnation, sequence, timestamp, manifest, payload, mac);
    }
}
