using System.Runtime.Serialization;
using Akka.Actor;
using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Serialization;
using Abpa3.Actors.Tests.Support;

namespace Abpa3.Actors.Tests.Serialization;

public sealed class MeshJsonSerializerSpecs : IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 11, 24, 12, 0, 0, TimeSpan.FromHours(1));

    private static readonly PeerDevice Peer = new("manager-1", "Lab manager", PeerRole.Manager, new string('a', 64),
        "akka.ssl.tcp://abpa3@127.0.0.1:8001", "https://127.0.0.1:8000/", Convert.ToBase64String(new byte[32]),
        Convert.ToBase64String(Enumerable.Repeat((byte)7, 32).ToArray()), At, At.AddMinutes(1), Revoked: false, Pending: false);

    /// <summary>One sample of every type the serializer knows; a new type without a sample fails <see cref="Every_known_type_has_a_sample"/>.</summary>
    public static readonly IReadOnlyList<object> Samples =
    [
        new PairingEvents.OwnerCreated("alice", "AQAAAAIAAYag", At),
        new PairingEvents.AdminAdded("bob", "AQAAAAIAAYah", At),
        new PairingEvents.PairingTokenIssued("0a1b2c3d4e5f6071", "9f86d081884c7d65", At.AddMinutes(5), At),
        new PairingEvents.ClientPaired("9f86d081884c7d65", "pixel-7-a1b2c3", "Pixel 7", "mobile", "2c26b46b68ffc68f", At),
        new PairingEvents.ClientSeen("pixel-7-a1b2c3", At.AddMinutes(1)),
        new PairingEvents.ClientRevoked("pixel-7-a1b2c3", At.AddMinutes(2)),
        new PairingEvents.PeerPaired(Peer),
        new PairingEvents.PeerPairingPending(Peer with { Role = PeerRole.Sensor, Pending = true }),
        new PairingEvents.PeerPairingCompleted("sensor-1", At.AddMinutes(3)),
        new PairingEvents.PeerPairingAbandoned("sensor-1", At.AddMinutes(3)),
        new PairingEvents.PeerRevoked("manager-1", At.AddMinutes(4)),
        new PairingEvents.PeerSeen("manager-1", At.AddMinutes(4)),
        new PairingEvents.PeerMoved("manager-1", "akka.ssl.tcp://abpa3@127.0.0.1:8101", At.AddMinutes(5)),
        new Abpa3.Actors.Scans.ScanEvents.ScanCreated("scan-1", At),
        new Abpa3.Actors.Scans.ScanEvents.ScanStarted("scan-1", 64, 64, 8, 1, 200, ["sensor-1", "sensor-2"], At),
        new Abpa3.Actors.Scans.ScanEvents.SegmentAssigned(3, "sensor-2", "sensor-1", At),
        new Abpa3.Actors.Scans.ScanEvents.SegmentUnassigned(3, "sensor-2", At),
        new Abpa3.Actors.Scans.ScanEvents.SegmentCompleted(3, "sensor-1", [9, 8, 7], At),
        new Abpa3.Actors.Scans.ScanEvents.ScanCompleted(At),
        new Abpa3.Actors.Scans.ScanEvents.ScanCancelled(At),
        new Sensor.SegmentWorkerEvents.SegmentProduced("manager-1", "scan-1", 3, [9, 8, 7], At),
        new Sensor.SegmentWorkerEvents.SegmentAcknowledged("scan-1", 3),
        new Sensor.SegmentWorkerEvents.ScanDropped("scan-1"),
        new Sensor.SegmentWorkerEvents.OutboxSnapshot([new Sensor.SegmentWorkerEvents.OutboxEntry("manager-1", "scan-1", 3, [9, 8, 7])]),
        new PairingSnapshot(DeviceState.Paired, DeviceRole.Sensor, "manager-1",
            [new UserAccount("alice", "h", UserRole.Owner, At), new UserAccount("bob", "h2", UserRole.Admin, At.AddDays(1))],
            [new PairingToken("0a1b2c3d4e5f6071", "9f86d081884c7d65", At.AddMinutes(5))],
            [new ClientDevice("pixel-7-a1b2c3", "Pixel 7", "mobile", "2c26b46b68ffc68f", At, At.AddMinutes(1), Revoked: true)],
            [Peer]),
    ];

    public static TheoryData<int> SampleIndexes() => new(Enumerable.Range(0, Samples.Count));

    private readonly ActorSystem _system = ActorSystem.Create("serializer-specs");
    private readonly MeshJsonSerializer _serializer;

    public MeshJsonSerializerSpecs() => _serializer = new MeshJsonSerializer((ExtendedActorSystem)_system);

    public void Dispose() => _system.Terminate().Wait(TimeSpan.FromSeconds(10));

    [Fact]
    public void Every_known_type_has_a_sample() =>
        Assert.Equal(
            MeshJsonSerializer.KnownTypes.Select(t => t.FullName).Order(),
            Samples.Select(s => s.GetType().FullName).Order());

    [Theory]
    [MemberData(nameof(SampleIndexes))]
    public void Every_known_type_round_trips(int index)
    {
        var sample = Samples[index];
        var bytes = _serializer.ToBinary(sample);
        var back = _serializer.FromBinary(bytes, _serializer.Manifest(sample));

        Assert.Equal(sample.GetType(), back.GetType());
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(sample, sample.GetType()),
            System.Text.Json.JsonSerializer.Serialize(back, back.GetType()));
    }

    [Fact]
    public void The_payload_names_no_clr_type()
    {
        var json = System.Text.Encoding.UTF8.GetString(_serializer.ToBinary(Samples[0]));
        Assert.DoesNotContain("$type", json);
        Assert.DoesNotContain("Abpa3", json);
        Assert.Contains("\"password_hash\"", json);
    }

    [Fact]
    public void Unknown_manifests_and_malformed_bytes_are_refused()
    {
        Assert.Throws<SerializationException>(() => _serializer.FromBinary("{}"u8.ToArray(), "System.Diagnostics.Process"));
        Assert.Throws<SerializationException>(() => _serializer.FromBinary([0xff, 0x00, 0x12], "pairing.owner-created.v1"));
        Assert.Throws<SerializationException>(() => _serializer.FromBinary("null"u8.ToArray(), "pairing.owner-created.v1"));
        Assert.Throws<SerializationException>(() => _serializer.ToBinary("a plain string"));
    }

    [Fact]
    public async Task The_node_binds_every_persisted_type_to_this_serializer()
    {
        using var dir = new TempDataDir();
        await using var node = await ActorNode.StartAsync(dir.Path);

        foreach (var sample in Samples)
            Assert.IsType<MeshJsonSerializer>(node.System.Serialization.FindSerializerFor(sample));
    }
}
