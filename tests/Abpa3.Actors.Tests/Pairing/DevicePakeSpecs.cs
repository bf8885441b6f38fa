using System.Diagnostics;
using System.Text;
using Abpa3.Actors.Pairing;

namespace Abpa3.Actors.Tests.Pairing;

/// <summary>THREATS T4: the setup-code key exchange agrees only with the right code and an untouched, unrelayed exchange.</summary>
public class DevicePakeSpecs
{
    private const string Code = "40193857";
    private static readonly DevicePake.Context Real = new("manager-1", "sensor-1", new string('a', 64), new string('b', 64));

    private sealed record Tamper(
        Func<DevicePake.Round1, DevicePake.Round1>? ManagerRound1 = null,
        Func<DevicePake.Round1, DevicePake.Round1>? TargetRound1 = null,
        Func<DevicePake.Round2, DevicePake.Round2>? TargetRound2 = null,
        Func<DevicePake.Round2, DevicePake.Round2>? ManagerRound2 = null,
        Func<DevicePake.Round3, DevicePake.Round3>? ManagerConfirmation = null,
        Func<DevicePake.Round3, DevicePake.Round3>? TargetConfirmation = null);

    private static (byte[]? ManagerSecret, byte[]? TargetSecret, List<byte[]> Wire) Run(
        string managerCode, DevicePake.Context managerView, DevicePake.Context targetView, Tamper? tamper = null, string targetCode = Code)
    {
        tamper ??= new Tamper();
        var wire = new List<byte[]>();
        var manager = new PakeInitiator(managerView, managerCode);
        var target = new PakeResponder(targetView, targetCode);
        var m1 = Apply(tamper.ManagerRound1, manager.Start());
        wire.AddRange([m1.Gx1, m1.Gx2, .. m1.ProofX1, .. m1.ProofX2]);
        if (target.Respond(m1) is not { } t)
            return (null, null, wire);
        var t1 = Apply(tamper.TargetRound1, t.Round1);
        var t2 = Apply(tamper.TargetRound2, t.Round2);
        wire.AddRange([t1.Gx1, t1.Gx2, .. t1.ProofX1, .. t1.ProofX2, t2.A, .. t2.ProofX2s]);
        if (manager.Answer(t1, t2) is not { } answer)
            return (null, null, wire);
        var m2 = Apply(tamper.ManagerRound2, answer.Round2);
        var m3 = Apply(tamper.ManagerConfirmation, answer.Confirmation);
        wire.AddRange([m2.A, .. m2.ProofX2s, m3.MacTag]);
        if (target.Accept(m2, m3) is not { } accepted)
            return (null, null, wire);
        var t3 = Apply(tamper.TargetConfirmation, accepted.Confirmation);
        wire.Add(t3.MacTag);
        return (manager.Finish(t3), accepted.Secret, wire);
    }

    private static T Apply<T>(Func<T, T>? change, T value) => change is null ? value : change(value);

    private static byte[] Flip(byte[] bytes)
    {
        var copy = (byte[])bytes.Clone();
        copy[^1] ^= 1;
        return copy;
    }

    [Fact]
    public void The_right_code_gives_both_sides_the_same_fresh_secret()
    {
        var (manager, target, _) = Run(Code, Real, Real);
        var (again, _, _) = Run(Code, Real, Real);

        Assert.NotNull(manager);
        Assert.Equal(32, manager!.Length);
        Assert.Equal(manager, target);
        Assert.NotEqual(manager, again); // every attempt makes new keys
    }

    [Fact]
    public void A_wrong_code_is_refused_by_the_target()
    {
        var (manager, target, _) = Run("40193858", Real, Real);
        Assert.Null(target);
        Assert.Null(manager);
    }

    [Fact]
    public void A_relay_presenting_its_own_certificate_to_either_side_gets_no_pairing()
    {
        var relayCert = new string('c', 64);
        // The manager reached the relay (it saw the relay's certificate, not the target's).
        Assert.Null(Run(Code, Real with { TargetCertSha256 = relayCert }, Real).TargetSecret);
        // The target was reached by the relay (the manager's certificate it saw is the relay's).
        Assert.Null(Run(Code, Real, Real with { ManagerCertSha256 = relayCert }).TargetSecret);
    }

    [Fact]
    public void A_relay_that_alters_any_round_gets_no_pairing()
    {
        Tamper[] tampers =
        [
            new(ManagerRound1: r => r with { Gx1 = Flip(r.Gx1) }),
            new(ManagerRound1: r => r with { ProofX2 = [Flip(r.ProofX2[0]), .. r.ProofX2[1..]] }),
            new(TargetRound1: r => r with { Gx2 = Flip(r.Gx2) }),
            new(TargetRound2: r => r with { A = Flip(r.A) }),
            new(ManagerRound2: r => r with { A = Flip(r.A) }),
            new(ManagerRound2: r => r with { ProofX2s = [.. r.ProofX2s[..^1], Flip(r.ProofX2s[^1])] }),
            new(ManagerConfirmation: r => r with { MacTag = Flip(r.MacTag) }),
            new(ManagerRound1: r => r with { Gx2 = [1] }), // g^x2 = 1 would make the key independent of x2
        ];
        foreach (var tamper in tampers)
        {
            var (manager, target, _) = Run(Code, Real, Real, tamper);
            Assert.Null(target);
            Assert.Null(manager);
        }
        // An altered last message leaves the target paired and the manager not: the manager keeps the
        // pairing pending, and the link settles it (the target proves the keys it holds).
        Assert.Null(Run(Code, Real, Real, new Tamper(TargetConfirmation: r => r with { MacTag = Flip(r.MacTag) })).ManagerSecret);
    }

    [Fact]
    public void An_impostor_posing_as_the_target_learns_nothing_to_test_guesses_against()
    {
        // The impostor runs the target's side with a guessed code. J-PAKE is balanced: the manager's
        // confirmation fails for the impostor exactly as a wrong code does, and what it saw depends on the
        // manager's secret exponents, not only on the code, so it cannot replay guesses offline.
        var (manager, impostor, _) = Run(Code, Real, Real, targetCode: "12345678");
        Assert.Null(manager);
        Assert.Null(impostor);
    }

    [Fact]
    public void The_exchange_carries_neither_the_code_nor_the_secret()
    {
        var (secret, _, wire) = Run(Code, Real, Real);
        var captured = wire.SelectMany(b => b).ToArray();

        Assert.Equal(-1, IndexOf(captured, Encoding.UTF8.GetBytes(Code)));
        Assert.Equal(-1, IndexOf(captured, Encoding.Unicode.GetBytes(Code)));
        Assert.Equal(-1, IndexOf(captured, secret!));
        Assert.Equal(-1, IndexOf(captured, secret![..8]));
    }

    [Fact]
    public void Foreign_participants_are_refused_before_any_work()
    {
        var manager = new PakeInitiator(Real, Code);
        var target = new PakeResponder(Real, Code);
        var round1 = manager.Start();
        Assert.Null(target.Respond(round1 with { ParticipantId = "manager|someone-else|" + new string('a', 64) }));
        Assert.Null(target.Respond(round1 with { Gx1 = new byte[400] }));
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
