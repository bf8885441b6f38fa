using System.Runtime.Serialization;
using System.Text.Json;
using Abpa3.Actors.Serialization;

namespace Abpa3.Actors.Peers;

/// <summary>What one device says to another inside a signed envelope.</summary>
public interface IPeerPayload;

public static class PeerPayloads
{
    /// <summary>
    /// "I am here, at this link address": sent on a fixed beat. Any authenticated message proves liveness;
    /// this one guarantees there is one, and lets a peer that came back on another address be found again.
    /// </summary>
    public sealed record Heartbeat(long SentAtMs, string Address) : IPeerPayload;

    /// <summary>Round-trip probe, answered with <see cref="Pong"/> carrying the same id.</summary>
    public sealed record Ping(long Id) : IPeerPayload;

    public sealed record Pong(long Id) : IPeerPayload;
}

/// <summary>
/// Payloads to and from bytes: System.Text.Json with a manifest table, like the journal's serializer.
/// A manifest the table does not list is refused, so a peer cannot name a type either.
/// </summary>
public static class PeerPayloadCodec
{
    /// <summary>
    /// The manifest of a batch: several payloads, each with its own manifest, signed as one envelope. Not a
    /// payload type of its own: a batch never holds a batch.
    /// </summary>
    public const string BatchManifest = "peer.batch.v1";

    /// <summary>Bytes a batch adds per entry: the manifest's and the payload's length prefixes.</summary>
    public const int BatchEntryOverhead = 2 + 4;

    private static readonly Dictionary<string, Type> TypesByManifest = new()
    {
        ["peer.heartbeat.v1"] = typeof(PeerPayloads.Heartbeat),
        ["peer.ping.v1"] = typeof(PeerPayloads.Ping),
        ["peer.pong.v1"] = typeof(PeerPayloads.Pong),
        ["scan.run-segment.v1"] = typeof(Scans.ScanPayloads.RunSegment),
        ["scan.segment-result.v1"] = typeof(Scans.ScanPayloads.SegmentResult),
        ["scan.segment-ack.v1"] = typeof(Scans.ScanPayloads.SegmentAck),
        ["scan.cancel.v1"] = typeof(Scans.ScanPayloads.CancelScan),
    };

    private static readonly Dictionary<Type, string> ManifestsByType = TypesByManifest.ToDictionary(p => p.Value, p => p.Key);

    public static IEnumerable<Type> KnownTypes => ManifestsByType.Keys;

    public static (string Manifest, byte[] Bytes) Encode(IPeerPayload payload) =>
        ManifestsByType.TryGetValue(payload.GetType(), out var manifest)
            ? (manifest, JsonSerializer.SerializeToUtf8Bytes(payload, payload.GetType(), MeshJsonSerializer.Options))
            : throw new SerializationException($"{payload.GetType().Name} has no peer manifest");

    /// <summary>The payload, or null for an unknown manifest or malformed bytes.</summary>
    public static IPeerPayload? Decode(string manifest, byte[] bytes)
    {
        if (!TypesByManifest.TryGetValue(manifest, out var type))
            return null;
        try
        {
            return JsonSerializer.Deserialize(bytes, type, MeshJsonSerializer.Options) as IPeerPayload;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Groups encoded payloads, in order, into what leaves as one envelope each: a lone payload as itself,
    /// runs of several as batches of at most <paramref name="maxPayloads"/> entries and <paramref name="maxBytes"/>
    /// bytes. A payload too big to share a batch leaves alone.
    /// </summary>
    public static IEnumerable<(string Manifest, byte[] Bytes)> Batches(IReadOnlyList<(string Manifest, byte[] Bytes)> payloads, int maxPayloads, int maxBytes)
    {
        var start = 0;
        while (start < payloads.Count)
        {
            var end = start;
            var size = 0;
            while (end < payloads.Count && end - start < maxPayloads)
            {
                var entry = EntrySize(payloads[end]);
                if (end > start && size + entry > maxBytes)
                    break;
                size += entry;
                end++;
            }
            // Only a first entry can exceed maxBytes, and it then leaves alone.
            yield return end - start == 1 ? payloads[start] : (BatchManifest, EncodeBatch(payloads, start, end, size));
            start = end;
        }
    }

    private static int EntrySize((string Manifest, byte[] Bytes) payload) =>
        BatchEntryOverhead + System.Text.Encoding.UTF8.GetByteCount(payload.Manifest) + payload.Bytes.Length;

    private static byte[] EncodeBatch(IReadOnlyList<(string Manifest, byte[] Bytes)> payloads, int start, int end, int size)
    {
        var bytes = new byte[size];
        var at = bytes.AsSpan();
        for (var i = start; i < end; i++)
        {
            var (manifest, payload) = payloads[i];
            var length = System.Text.Encoding.UTF8.GetBytes(manifest, at[2..]);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(at, (ushort)length);
            at = at[(2 + length)..];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(at, payload.Length);
            payload.CopyTo(at[4..]);
            at = at[(4 + payload.Length)..];
        }
        return bytes;
    }

    /// <summary>
    /// The entries of a batch, in order; null when the bytes are not exactly a sequence of well-formed entries,
    /// or hold more than <paramref name="maxPayloads"/>. Entries are not decoded here: each is checked like a
    /// payload on its own.
    /// </summary>
    public static List<(string Manifest, byte[] Bytes)>? DecodeBatch(ReadOnlySpan<byte> bytes, int maxPayloads)
    {
        var entries = new List<(string, byte[])>();
        while (!bytes.IsEmpty)
        {
            if (entries.Count == maxPayloads || bytes.Length < 2)
                return null;
            var manifestLength = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(bytes);
            if (manifestLength == 0 || bytes.Length < 2 + manifestLength + 4)
                return null;
            string manifest;
            try
            {
                manifest = new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.Slice(2, manifestLength));
            }
            catch (System.Text.DecoderFallbackException)
            {
                return null;
            }
            bytes = bytes[(2 + manifestLength)..];
            var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes);
            if (length < 0 || bytes.Length - 4 < length)
                return null;
            entries.Add((manifest, bytes.Slice(4, length).ToArray()));
            bytes = bytes[(4 + length)..];
        }
        return entries.Count >= 2 ? entries : null; // a lone payload is never batched
    }
}
