using System.Security.Cryptography;
using Abpa3.Actors.Remoting;

namespace Abpa3.Actors.Tests.Remoting;

/// <summary>THREATS T6, T10, T12 for the peer envelope: authentic, fresh, at most once, and no byte sequence breaks the parser.</summary>
public class SignedEnvelopeSpecs
{
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(5);

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static (EnvelopeSigner ManagerSends, EnvelopeVerifier SensorReceives, Clock SensorClock, EnvelopeVerifier ManagerReceives) Pair(
        long incarnation = 1, Clock? managerClock = null)
    {
        var sensorClock = new Clock(Now);
        managerClock ??= new Clock(Now);
        var managerKeys = PairKeys.Derive(Secret, "manager", "sensor");
        var sensorKeys = PairKeys.Derive(Secret, "sensor", "manager");
        return (new EnvelopeSigner("manager", "sensor", incarnation, managerKeys, managerClock),
            new EnvelopeVerifier("sensor", "manager", sensorKeys, Window, sensorClock), sensorClock,
            new EnvelopeVerifier("manager", "sensor", managerKeys, Window, managerClock));
    }

    [Fact]
    public void A_signed_envelope_is_accepted_once_and_survives_the_wire()
    {
        var (send, receive, _, _) = Pair();
        var envelope = send.Sign("scan.segment-result.v1", [1, 2, 3]);

        var onTheWire = SignedEnvelope.Decode(envelope.Encode())!;

        Assert.Equal(envelope.Payload, onTheWire.Payload);
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(onTheWire));
        Assert.Equal(EnvelopeVerdict.Replayed, receive.Verify(onTheWire));
    }

    [Fact]
    public void The_streamed_mac_covers_exactly_the_length_prefixed_signed_bytes()
    {
        var key = RandomNumberGenerator.GetBytes(32);
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        byte[] payload = [1, 2, 3, 4];
        var streamed = SignedEnvelope.ComputeMac(hmac, "sensor-1", "manager-1", 7, 42, 1_700_000_000_000, "peer.ping.v1", payload);
        var whole = HMACSHA256.HashData(key, SignedEnvelope.SignedBytes("sensor-1", "manager-1", 7, 42, 1_700_000_000_000, "peer.ping.v1", payload));
        Assert.Equal(whole, streamed);
        // The reused HMAC starts afresh for the next message.
        Assert.Equal(whole, SignedEnvelope.ComputeMac(hmac, "sensor-1", "manager-1", 7, 42, 1_700_000_000_000, "peer.ping.v1", payload));
    }

    [Fact]
    public void Any_altered_field_breaks_the_mac()
    {
        var (send, receive, _, _) = Pair();
        var e = send.Sign("m.v1", [1, 2, 3]);

        foreach (var altered in new[]
                 {
                     e with { Payload = [1, 2, 4] }, e with { Manifest = "n.v1" }, e with { Sequence = 99 },
                     e with { Incarnation = 2 }, e with { TimestampMs = e.TimestampMs + 1 }, e with { Mac = new byte[32] },
                 })
            Assert.Equal(EnvelopeVerdict.BadMac, receive.Verify(altered));
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(e)); // the real one still gets through
    }

    [Fact]
    public void A_forger_without_the_pairs_secret_and_other_senders_are_refused()
    {
        var (_, receive, _, _) = Pair();
        var forgerKeys = PairKeys.Derive(RandomNumberGenerator.GetBytes(32), "manager", "sensor");
        var forged = new EnvelopeSigner("manager", "sensor", 1, forgerKeys, new Clock(Now)).Sign("m.v1", [9]);
        var stranger = new EnvelopeSigner("stranger", "sensor", 1, PairKeys.Derive(Secret, "stranger", "sensor"), new Clock(Now)).Sign("m.v1", [9]);

        Assert.Equal(EnvelopeVerdict.BadMac, receive.Verify(forged));
        Assert.Equal(EnvelopeVerdict.UnknownSender, receive.Verify(stranger));
    }

    [Fact]
    public void A_message_reflected_back_to_its_sender_is_refused()
    {
        var (send, _, _, managerReceives) = Pair();
        var outgoing = send.Sign("m.v1", [1]);

        Assert.Equal(EnvelopeVerdict.NotForUs, managerReceives.Verify(outgoing));
        // Even relabelled as coming from the peer, it was signed with the other direction's key.
        Assert.Equal(EnvelopeVerdict.BadMac, managerReceives.Verify(outgoing with { Sender = "sensor", Receiver = "manager" }));
    }

    [Fact]
    public void Reordering_within_the_window_is_fine_and_every_replay_is_refused()
    {
        var (send, receive, _, _) = Pair();
        var envelopes = Enumerable.Range(0, 100).Select(i => send.Sign("m.v1", [(byte)i])).ToList();

        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(envelopes[0]));
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(envelopes[5]));
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(envelopes[2])); // late, inside the window
        Assert.Equal(EnvelopeVerdict.Replayed, receive.Verify(envelopes[2]));
        Assert.Equal(EnvelopeVerdict.Replayed, receive.Verify(envelopes[5]));
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(envelopes[99]));
        Assert.Equal(EnvelopeVerdict.Replayed, receive.Verify(envelopes[1])); // 98 behind: outside the window
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(envelopes[40]));
        Assert.Equal(EnvelopeVerdict.Replayed, receive.Verify(envelopes[40]));
    }

    [Fact]
    public void A_restarted_peer_starts_a_new_incarnation_and_the_old_one_cannot_be_replayed()
    {
        var (beforeRestart, receive, _, _) = Pair(incarnation: 1);
        var old = beforeRestart.Sign("m.v1", [1]);
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(old));

        var (afterRestart, _, _, _) = Pair(incarnation: 2);
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(afterRestart.Sign("m.v1", [1]))); // sequence 1 again, new incarnation
        Assert.Equal(EnvelopeVerdict.Replayed, receive.Verify(beforeRestart.Sign("m.v1", [2])));
    }

    [Fact]
    public void Clocks_apart_within_the_window_work_and_beyond_it_are_refused_not_accepted_silently()
    {
        var managerClock = new Clock(Now + TimeSpan.FromMinutes(4));
        var (send, receive, _, _) = Pair(managerClock: managerClock);
        Assert.Equal(EnvelopeVerdict.Accepted, receive.Verify(send.Sign("m.v1", [1])));

        managerClock.Now = Now - TimeSpan.FromMinutes(6);
        Assert.Equal(EnvelopeVerdict.Stale, receive.Verify(send.Sign("m.v1", [2])));
        managerClock.Now = Now + TimeSpan.FromMinutes(6);
        Assert.Equal(EnvelopeVerdict.Stale, receive.Verify(send.Sign("m.v1", [3])));
        Assert.Equal(EnvelopeVerdict.BadMac, receive.Verify(send.Sign("m.v1", [4]) with { TimestampMs = long.MaxValue }));
    }

    [Fact]
    public void No_byte_sequence_breaks_the_decoder()
    {
        var (send, _, _, _) = Pair();
        var valid = send.Sign("m.v1", new byte[100]).Encode();
        var random = new Random(20261124);

        for (var i = 0; i < 5000; i++)
        {
            byte[] candidate;
            if (i % 2 == 0)
            {
                candidate = new byte[random.Next(0, 300)];
                random.NextBytes(candidate);
            }
            else
            {
                candidate = (byte[])valid.Clone();
                for (var flips = random.Next(1, 6); flips > 0; flips--)
                    candidate[random.Next(candidate.Length)] = (byte)random.Next(256);
                if (random.Next(4) == 0)
                    candidate = candidate[..random.Next(candidate.Length)];
            }
            var decoded = SignedEnvelope.Decode(candidate); // never throws
            if (decoded is not null)
                Assert.Equal(SignedEnvelope.MacLength, decoded.Mac.Length);
        }
        Assert.Null(SignedEnvelope.Decode(valid[..^1]));
        Assert.Null(SignedEnvelope.Decode([.. valid, 0]));
    }
}
