using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Abpa3.Actors.Remoting;

/// <summary>
/// Every message between paired devices travels in one of these (SPEC §5): who sent it to whom, the
/// sender's boot incarnation, a per-incarnation sequence number, the send time, the payload (bytes and
/// the manifest that names its type in the explicit serializer) and an HMAC-SHA256 over all of it,
/// under the key of that direction of the pair.
/// </summary>
public sealed record SignedEnvelope(
    string Sender,
    string Receiver,
    long Incarnation,
    long Sequence,
    long TimestampMs,
    string Manifest,
    byte[] Payload,
    byte[] Mac)
{
    public const int MacLength = 32;
    public const int MaxIdLength = 64;
    public const int MaxManifestLength = 128;
    public const int MaxPayloadLength = 200_000;

    /// <summary>The bytes the MAC covers: every field, length-prefixed, so no two envelopes share them.</summary>
    internal static byte[] SignedBytes(string sender, string receiver, long incarnation, long sequence, long timestampMs, string manifest, byte[] payload)
    {
        using var buffer = new MemoryStream(64 + payload.Length);
        buffer.Write("abpa3-envelope-v1"u8);
        WriteString(buffer, sender);
        WriteString(buffer, receiver);
        WriteInt64(buffer, incarnation);
        WriteInt64(buffer, sequence);
        WriteInt64(buffer, timestampMs);
        WriteString(buffer, manifest);
        WriteBytes(buffer, payload);
        return buffer.ToArray();
    }

    /// <summary>
    /// The MAC over exactly the bytes <see cref="SignedBytes"/> would build, fed field by field into a
    /// reusable HMAC (no buffer, no key schedule per message).
    /// </summary>
    internal static byte[] ComputeMac(IncrementalHash hmac, string sender, string receiver, long incarnation, long sequence, long timestampMs,
        string manifest, byte[] payload)
    {
        Span<byte> number = stackalloc byte[8];
        hmac.AppendData("abpa3-envelope-v1"u8);
        AppendString(hmac, sender);
        AppendString(hmac, receiver);
        BinaryPrimitives.WriteInt64BigEndian(number, incarnation);
        hmac.AppendData(number);
        BinaryPrimitives.WriteInt64BigEndian(number, sequence);
        hmac.AppendData(number);
        BinaryPrimitives.WriteInt64BigEndian(number, timestampMs);
        hmac.AppendData(number);
        AppendString(hmac, manifest);
        AppendBytes(hmac, payload);
        return hmac.GetHashAndReset();
    }

    private static void AppendString(IncrementalHash hmac, string text) => AppendBytes(hmac, Encoding.UTF8.GetBytes(text));

    private static void AppendBytes(IncrementalHash hmac, ReadOnlySpan<byte> bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        hmac.AppendData(length);
        hmac.AppendData(bytes);
    }

    /// <summary>The wire form: the signed fields, then the MAC.</summary>
    public byte[] Encode()
    {
        var signed = SignedBytes(Sender, Receiver, Incarnation, Sequence, TimestampMs, Manifest, Payload);
        return [.. signed, .. Mac];
    }

    /// <summary>Reads the wire form; null for anything that is not exactly one well-formed envelope.</summary>
    public static SignedEnvelope? Decode(ReadOnlySpan<byte> bytes)
    {
        var prefix = "abpa3-envelope-v1"u8;
        if (!bytes.StartsWith(prefix))
            return null;
        var reader = new Reader(bytes[prefix.Length..]);
        var sender = reader.String(MaxIdLength);
        var receiver = reader.String(MaxIdLength);
        var incarnation = reader.Int64();
        var sequence = reader.Int64();
        var timestamp = reader.Int64();
        var manifest = reader.String(MaxManifestLength);
        var payload = reader.Bytes(MaxPayloadLength);
        var mac = reader.Rest();
        if (reader.Failed || sender is null || receiver is null || manifest is null || payload is null || mac.Length != MacLength)
            return null;
        return new SignedEnvelope(sender, receiver, incarnation, sequence, timestamp, manifest, payload, mac.ToArray());
    }

    private static void WriteString(Stream stream, string text) => WriteBytes(stream, Encoding.UTF8.GetBytes(text));

    private static void WriteBytes(Stream stream, byte[] bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
        stream.Write(length);
        stream.Write(bytes);
    }

    private static void WriteInt64(Stream stream, long value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(bytes, value);
        stream.Write(bytes);
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private ReadOnlySpan<byte> _rest = bytes;
        public bool Failed { get; private set; }

        public long Int64()
        {
            if (_rest.Length < 8)
            {
                Failed = true;
                return 0;
            }
            var value = BinaryPrimitives.ReadInt64BigEndian(_rest);
            _rest = _rest[8..];
            return value;
        }

        public byte[]? Bytes(int max)
        {
            if (_rest.Length < 4)
            {
                Failed = true;
                return null;
            }
            var length = BinaryPrimitives.ReadInt32BigEndian(_rest);
            if (length < 0 || length > max || _rest.Length - 4 < length)
            {
                Failed = true;
                return null;
            }
            var value = _rest.Slice(4, length).ToArray();
            _rest = _rest[(4 + length)..];
            return value;
        }

        public string? String(int max)
        {
            var bytes = Bytes(max * 4);
            if (bytes is null)
                return null;
            try
            {
                var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
                if (text.Length <= max)
                    return text;
            }
            catch (DecoderFallbackException) { }
            Failed = true;
            return null;
        }

        public ReadOnlySpan<byte> Rest() => _rest;
    }
}

/// <summary>The two MAC keys of a pair, one per direction, derived from the pair's shared secret with HKDF-SHA256.</summary>
public sealed class PairKeys
{
    private PairKeys(byte[] outgoing, byte[] incoming)
    {
        Outgoing = outgoing;
        Incoming = incoming;
    }

    /// <summary>Signs what this device sends to the peer.</summary>
    internal byte[] Outgoing { get; }

    /// <summary>Checks what the peer sends to this device.</summary>
    internal byte[] Incoming { get; }

    /// <summary>The keys as stored with a paired device (see <see cref="Pairing.PeerDevice"/>).</summary>
    public static PairKeys FromStored(byte[] outgoing, byte[] incoming) =>
        outgoing.Length == 32 && incoming.Length == 32 ? new(outgoing, incoming) : throw new ArgumentException("a pair key is 32 bytes");

    public string OutgoingBase64 => Convert.ToBase64String(Outgoing);

    public string IncomingBase64 => Convert.ToBase64String(Incoming);

    public static PairKeys Derive(ReadOnlySpan<byte> sharedSecret, string self, string peer) =>
        new(DirectionKey(sharedSecret, self, peer), DirectionKey(sharedSecret, peer, self));

    private static byte[] DirectionKey(ReadOnlySpan<byte> secret, string from, string to)
    {
        var key = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, key, salt: "abpa3-pair-v1"u8, info: Encoding.UTF8.GetBytes($"mac {from} -> {to}"));
        return key;
    }
}
