using System.Text;
using Abpa3.Actors.Pairing;

namespace Abpa3.Actors.Tests.Pairing;

/// <summary>THREATS T4: the setup-code key exchange agrees only with the right code and an untouched, unrelayed exchange.</summary>
public class DevicePakeSpecs
{
    private const string Code = "40193857";
    private static readonly DevicePake.Context Real = new("manager-1", "sensor-1", new string('a', 64), new string('b', 64));
    private static readonly DevicePake.Verifier Verifier = DevicePake.MakeVerifier("sensor-1", Code);

    private static (byte[]? ManagerSecret, byte[]? TargetSecret, List<byte[]> Wire) Run(
        string code, DevicePake.Context managerView, DevicePake.Context targetView,
        Func<DevicePake.Proof, DevicePake.Proof>? relay = null)
    {
        var wire = new List<byte[]>();
        var target = new PakeResponder(Verifier, targetView);
        var manager = new PakeInitiator(managerView, code);
        var challenge = target.Challenge();
        wire.AddRange([challenge.Salt, challenge.B]);
        var proof = manager.Answer(challenge);
        if (proof is null)
            return (null, null, wire);
        proof = relay?.Invoke(proof) ?? proof;
        wire.AddRange([proof.A, proof.M1, proof.ManagerConfirm]);
        var accepted = target.Accept(proof);
        if (accepted is null)
            return (null, null, wire);
        wire.AddRange([accepted.Value.Acceptance.M2, accepted.Value.Acceptance.TargetConfirm]);
        return (manager.Finish(accepted.Value.Acceptance), accepted.Value.Secret, wire);
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
    public void A_relay_that_alters_the_exchange_gets_no_pairing()
    {
        static byte[] Flip(byte[] bytes)
        {
            var copy = (byte[])bytes.Clone();
            copy[^1] ^= 1;
            return copy;
        }

        Assert.Null(Run(Code, Real, Real, p => p with { A = Flip(p.A) }).TargetSecret);
        Assert.Null(Run(Code, Real, Real, p => p with { M1 = Flip(p.M1) }).TargetSecret);
        Assert.Null(Run(Code, Real, Real, p => p with { ManagerConfirm = Flip(p.ManagerConfirm) }).TargetSecret);
        Assert.Null(Run(Code, Real, Real, p => p with { A = new byte[384] }).TargetSecret); // A = 0 mod N
    }

    [Fact]
    public void The_exchange_carries_neither_the_code_nor_the_secret()
    {
        var (secret, _, wire) = Run(Code, Real, Real);
        var captured = wire.SelectMany(b => b).ToArray();

        Assert.Equal(-1, IndexOf(captured, Encoding.UTF8.GetBytes(Code)));
        Assert.Equal(-1, IndexOf(captured, secret!));
        Assert.Equal(-1, IndexOf(captured, Verifier.Value[..32]));
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
