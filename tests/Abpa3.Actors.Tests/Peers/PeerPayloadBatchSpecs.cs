using System.Buffers.Binary;
using Abpa3.Actors.Peers;

namespace Abpa3.Actors.Tests.Peers;

/// <summary>
/// Batches: payloads that piled up for a peer leave as one signed envelope. Pure framing rules here; the
/// link's handling of batches from the wire is in <see cref="PeerLinkSpecs"/>.
/// </summary>
public class PeerPayloadBatchSpecs
{
    private static (string Manifest, byte[] Bytes) Ping(long id) => PeerPayloadCodec.Encode(new PeerPayloads.Ping(id));

    private static List<(string Manifest, byte[] Bytes)> Pings(int count) => Enumerable.Range(1, count).Select(i => Ping(i)).ToList();

    private static List<long> Ids(IEnumerable<(string Manifest, byte[] Bytes)> payloads) =>
        payloads.Select(p => ((PeerPayloads.Ping)PeerPayloadCodec.Decode(p.Manifest, p.Bytes)!).Id).ToList();

    /// <summary>What the receiving proxy does: a batch is opened, a lone payload taken as it is.</summary>
    private static List<(string Manifest, byte[] Bytes)> Unpack(IEnumerable<(string Manifest, byte[] Bytes)> envelopes, int maxPayloads) =>
        envelopes.SelectMany(e => e.Manifest == PeerPayloadCodec.BatchManifest ? PeerPayloadCodec.DecodeBatch(e.Bytes, maxPayloads)! : [e]).ToList();

    [Fact]
    public void A_lone_payload_leaves_as_itself()
    {
        var ping = Ping(7);
        var envelopes = PeerPayloadCodec.Batches([ping], 256, 65536).ToList();
        Assert.Equal([ping], envelopes);
    }

    [Fact]
    public void Payloads_that_piled_up_leave_in_order_in_as_few_envelopes_as_the_bounds_allow()
    {
        var envelopes = PeerPayloadCodec.Batches(Pings(600), 256, 65536).ToList();

        Assert.Equal(3, envelopes.Count); // 256 + 256 + 88
        Assert.All(envelopes, e => Assert.Equal(PeerPayloadCodec.BatchManifest, e.Manifest));
        Assert.Equal(Enumerable.Range(1, 600).Select(i => (long)i), Ids(Unpack(envelopes, 256)));
    }

    [Fact]
    public void The_byte_bound_splits_batches_and_a_payload_too_big_to_share_leaves_alone()
    {
        var big = ("scan.segment-result.v1", new byte[5000]);
        List<(string, byte[])> payloads = [Ping(1), Ping(2), big, Ping(3), Ping(4), Ping(5)];

        var envelopes = PeerPayloadCodec.Batches(payloads, 256, 1000).ToList();

        Assert.Equal(3, envelopes.Count);
        Assert.Equal(PeerPayloadCodec.BatchManifest, envelopes[0].Manifest);
        Assert.Equal(big, envelopes[1]);
        Assert.Equal(PeerPayloadCodec.BatchManifest, envelopes[2].Manifest);
        Assert.All(envelopes.Where(e => e.Manifest == PeerPayloadCodec.BatchManifest), e => Assert.True(e.Bytes.Length <= 1000));
        Assert.Equal(payloads, Unpack(envelopes, 256), new PayloadComparer());
    }

    [Fact]
    public void A_run_that_cannot_pair_up_under_the_byte_bound_leaves_one_by_one()
    {
        List<(string, byte[])> payloads = [("scan.segment-result.v1", new byte[600]), ("scan.segment-result.v1", new byte[600])];
        var envelopes = PeerPayloadCodec.Batches(payloads, 256, 1000).ToList();
        Assert.Equal(payloads, envelopes, new PayloadComparer());
    }

    [Fact]
    public void Malformed_batches_are_refused_whole()
    {
        var good = PeerPayloadCodec.Batches(Pings(3), 256, 65536).Single().Bytes;
        Assert.NotNull(PeerPayloadCodec.DecodeBatch(good, 256));

        Assert.Null(PeerPayloadCodec.DecodeBatch(good[..^1], 256));              // cut short
        Assert.Null(PeerPayloadCodec.DecodeBatch([.. good, 0x00], 256));         // trailing byte
        Assert.Null(PeerPayloadCodec.DecodeBatch(good, 2));                      // more entries than allowed
        Assert.Null(PeerPayloadCodec.DecodeBatch([], 256));                      // empty
        Assert.Null(PeerPayloadCodec.DecodeBatch(good[..EntryLength(good)], 256)); // a lone entry is never a batch

        var zeroManifest = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt16BigEndian(zeroManifest, 0);
        Assert.Null(PeerPayloadCodec.DecodeBatch(zeroManifest, 256));

        var negativeLength = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32BigEndian(negativeLength.AsSpan(2 + "peer.ping.v1".Length), -1);
        Assert.Null(PeerPayloadCodec.DecodeBatch(negativeLength, 256));

        var hugeLength = (byte[])good.Clone();
        BinaryPrimitives.WriteInt32BigEndian(hugeLength.AsSpan(2 + "peer.ping.v1".Length), int.MaxValue);
        Assert.Null(PeerPayloadCodec.DecodeBatch(hugeLength, 256));

        var badUtf8 = (byte[])good.Clone();
        badUtf8[2] = 0xFF;
        Assert.Null(PeerPayloadCodec.DecodeBatch(badUtf8, 256));
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(1);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            _ = PeerPayloadCodec.DecodeBatch(bytes, 256);
        }
    }

    [Fact]
    public void A_batch_is_not_a_payload_type_so_it_cannot_nest()
    {
        var batch = PeerPayloadCodec.Batches(Pings(2), 256, 65536).Single();
        Assert.Null(PeerPayloadCodec.Decode(batch.Manifest, batch.Bytes));
    }

    private static int EntryLength(byte[] batch) =>
        2 + BinaryPrimitives.ReadUInt16BigEndian(batch) + 4 + BinaryPrimitives.ReadInt32BigEndian(batch.AsSpan(2 + BinaryPrimitives.ReadUInt16BigEndian(batch)));

    private sealed class PayloadComparer : IEqualityComparer<(string Manifest, byte[] Bytes)>
    {
        public bool Equals((string Manifest, byte[] Bytes) x, (string Manifest, byte[] Bytes) y) => x.Manifest == y.Manifest && x.Bytes.SequenceEqual(y.Bytes);
        public int GetHashCode((string Manifest, byte[] Bytes) obj) => obj.Manifest.GetHashCode();
    }
}
