using System.Security.Cryptography;

namespace Abpa3.Actors.Remoting;

/// <summary>Signs what this device sends to one peer: a fresh sequence number each time, within this boot's incarnation.</summary>
public sealed class EnvelopeSigner(string self, string peer, long incarnation, PairKeys keys, TimeProvider clock)
{
    private long _sequence;

    public SignedEnvelope Sign(string manifest, byte[] payload)
    {
        var sequence = ++_sequence;
        var timestamp = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var mac = HMACSHA256.HashData(keys.Outgoing, SignedEnvelope.SignedBytes(self, peer, incarnation, sequence, timestamp, manifest, payload));
        return new SignedEnvelope(self, peer, incarnation, sequence, timestamp, manifest, payload, mac);
    }
}
