using System.Runtime.Serialization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Abpa3.Actors.Pairing;

namespace Abpa3.Actors.Serialization;

/// <summary>
/// System.Text.Json with an explicit, versioned manifest per type. Only the types listed here can be
/// read back: a manifest names a table entry, never a CLR type, so stored or received bytes cannot
/// make the node instantiate a type of their choosing.
/// </summary>
public sealed class MeshJsonSerializer : SerializerWithStringManifest
{
    public const int SerializerId = 4301;
    public const string Name = "abpa3-json";

    private static readonly IReadOnlyDictionary<string, Type> TypesByManifest = new Dictionary<string, Type>
    {
        ["pairing.owner-created.v1"] = typeof(PairingEvents.OwnerCreated),
        ["pairing.admin-added.v1"] = typeof(PairingEvents.AdminAdded),
        ["pairing.token-issued.v1"] = typeof(PairingEvents.PairingTokenIssued),
        ["pairing.client-paired.v1"] = typeof(PairingEvents.ClientPaired),
        ["pairing.client-seen.v1"] = typeof(PairingEvents.ClientSeen),
        ["pairing.client-revoked.v1"] = typeof(PairingEvents.ClientRevoked),
        ["pairing.peer-paired.v1"] = typeof(PairingEvents.PeerPaired),
        ["pairing.peer-pending.v1"] = typeof(PairingEvents.PeerPairingPending),
        ["pairing.peer-completed.v1"] = typeof(PairingEvents.PeerPairingCompleted),
        ["pairing.peer-abandoned.v1"] = typeof(PairingEvents.PeerPairingAbandoned),
        ["pairing.peer-revoked.v1"] = typeof(PairingEvents.PeerRevoked),
        ["pairing.peer-seen.v1"] = typeof(PairingEvents.PeerSeen),
        ["pairing.peer-moved.v1"] = typeof(PairingEvents.PeerMoved),
        ["pairing.snapshot.v1"] = typeof(PairingSnapshot),
        ["scan.created.v1"] = typeof(Scans.ScanEvents.ScanCreated),
        ["scan.started.v1"] = typeof(Scans.ScanEvents.ScanStarted),
        ["scan.segment-assigned.v1"] = typeof(Scans.ScanEvents.SegmentAssigned),
        ["scan.segment-unassigned.v1"] = typeof(Scans.ScanEvents.SegmentUnassigned),
        ["scan.segment-completed.v1"] = typeof(Scans.ScanEvents.SegmentCompleted),
        ["scan.completed.v1"] = typeof(Scans.ScanEvents.ScanCompleted),
        ["scan.cancelled.v1"] = typeof(Scans.ScanEvents.ScanCancelled),
        ["sensor.segment-produced.v1"] = typeof(Sensor.SegmentWorkerEvents.SegmentProduced),
        ["sensor.segment-acknowledged.v1"] = typeof(Sensor.SegmentWorkerEvents.SegmentAcknowledged),
        ["sensor.scan-dropped.v1"] = typeof(Sensor.SegmentWorkerEvents.ScanDropped),
        ["sensor.outbox-snapshot.v1"] = typeof(Sensor.SegmentWorkerEvents.OutboxSnapshot),
    };

    private static readonly IReadOnlyDictionary<Type, string> ManifestsByType =
        TypesByManifest.ToDictionary(pair => pair.Value, pair => pair.Key);

    internal static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false) },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    };

    public MeshJsonSerializer(ExtendedActorSystem system) : base(system) { }

    public override int Identifier => SerializerId;

    /// <summary>Every type this serializer writes and reads.</summary>
    public static IEnumerable<Type> KnownTypes => ManifestsByType.Keys;

    public override string Manifest(object o) =>
        ManifestsByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new SerializationException($"{o.GetType().Name} has no manifest in {nameof(MeshJsonSerializer)}");

    public override byte[] ToBinary(object obj)
    {
        _ = Manifest(obj); // refuse unlisted types before writing anything
        return JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), Options);
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (!TypesByManifest.TryGetValue(manifest, out var type))
            throw new SerializationException($"unknown manifest '{manifest}'");
        try
        {
            return JsonSerializer.Deserialize(bytes, type, Options)
                   ?? throw new SerializationException($"empty payload for '{manifest}'");
        }
        catch (JsonException e)
        {
            throw new SerializationException($"malformed payload for '{manifest}': {e.Message}", e);
        }
    }
}
