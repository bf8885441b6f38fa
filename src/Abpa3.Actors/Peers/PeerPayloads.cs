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
}
