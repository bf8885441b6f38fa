using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Agreement.JPake;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Security;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Abpa3.Actors.Pairing;

/// <summary>
/// Device-to-device pairing without sending a secret (SPEC §5, THREATS T4): J-PAKE (BouncyCastle, the
/// NIST 3072-bit prime-order group, SHA-256) keyed by the target's setup code, with J-PAKE's own key
/// confirmation. J-PAKE is balanced: neither side holds anything an impostor of the other could test
/// guesses against offline, so whoever sits in the middle, posing as either device, gets one online
/// guess per attempt. Each side's participant id names its device and the certificate fingerprint it
/// presents; the confirmation covers both ids, so a relay that shows either side its own certificate
/// makes the exchange fail.
/// </summary>
public static class DevicePake
{
    private static readonly JPakePrimeOrderGroup Group = JPakePrimeOrderGroups.NIST_3072;
    public const int SecretBytes = 32;
    /// <summary>Largest group element or proof value on the wire (3072 bits, plus a sign byte).</summary>
    public const int MaxValueBytes = 385;

    /// <summary>Who is pairing with whom, as each side sees it (the fingerprints of the TLS certificates in use).</summary>
    public sealed record Context(string ManagerId, string TargetId, string ManagerCertSha256, string TargetCertSha256)
    {
        public string ManagerParticipant => $"manager|{ManagerId}|{ManagerCertSha256}";
        public string TargetParticipant => $"target|{TargetId}|{TargetCertSha256}";
        internal byte[] Bytes() => Encoding.UTF8.GetBytes($"abpa3-pair-v2|{ManagerParticipant}|{TargetParticipant}");
    }

    /// <summary>J-PAKE round 1: two public values and their zero-knowledge proofs.</summary>
    public sealed record Round1(string ParticipantId, byte[] Gx1, byte[] Gx2, byte[][] ProofX1, byte[][] ProofX2);

    /// <summary>J-PAKE round 2: the combined value and its proof.</summary>
    public sealed record Round2(string ParticipantId, byte[] A, byte[][] ProofX2s);

    /// <summary>J-PAKE round 3: the key confirmation tag.</summary>
    public sealed record Round3(string ParticipantId, byte[] MacTag);

    internal static JPakeParticipant Participant(string id, string code) =>
        new(id, code.ToCharArray(), Group, new Sha256Digest(), new SecureRandom());

    /// <summary>The pair's shared secret: J-PAKE's keying material through HKDF, bound to both participants.</summary>
    internal static byte[] Secret(BigInteger keyingMaterial, Context context)
    {
        var secret = new byte[SecretBytes];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, keyingMaterial.ToByteArrayUnsigned(), secret, salt: "abpa3-pair-secret"u8, info: context.Bytes());
        return secret;
    }

    internal static Round1 ToWire(JPakeRound1Payload p) =>
        new(p.ParticipantId, p.Gx1.ToByteArray(), p.Gx2.ToByteArray(), Values(p.KnowledgeProofForX1), Values(p.KnowledgeProofForX2));

    internal static Round2 ToWire(JPakeRound2Payload p) => new(p.ParticipantId, p.A.ToByteArray(), Values(p.KnowledgeProofForX2s));

    internal static Round3 ToWire(JPakeRound3Payload p) => new(p.ParticipantId, p.MacTag.ToByteArray());

    internal static JPakeRound1Payload FromWire(Round1 r) =>
        new(r.ParticipantId, Value(r.Gx1), Value(r.Gx2), Values(r.ProofX1), Values(r.ProofX2));

    internal static JPakeRound2Payload FromWire(Round2 r) => new(r.ParticipantId, Value(r.A), Values(r.ProofX2s));

    internal static JPakeRound3Payload FromWire(Round3 r) => new(r.ParticipantId, Value(r.MacTag));

    private static byte[][] Values(BigInteger[] values) => values.Select(v => v.ToByteArray()).ToArray();

    private static BigInteger[] Values(byte[][] values) => values.Select(Value).ToArray();

    private static BigInteger Value(byte[] bytes) =>
        bytes.Length is > 0 and <= MaxValueBytes ? new BigInteger(bytes) : throw new ArgumentException("value out of range");

    /// <summary>
    /// Seals data for the other side under a key derived from the pair's secret (AES-256-GCM, the context as
    /// associated data): how the manager hands its owner account to an unconfigured target, readable only by
    /// a target that knew the code.
    /// </summary>
    public static byte[] Seal(byte[] secret, Context context, byte[] plaintext)
    {
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var cipher = new byte[plaintext.Length];
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        using var aes = new AesGcm(SealKey(secret), tag.Length);
        aes.Encrypt(nonce, plaintext, cipher, tag, context.Bytes());
        return [.. nonce, .. tag, .. cipher];
    }

    /// <summary>The sealed data, or null if it was not sealed under this secret and context.</summary>
    public static byte[]? Open(byte[] secret, Context context, byte[] sealedBytes)
    {
        var nonceLength = AesGcm.NonceByteSizes.MaxSize;
        var tagLength = AesGcm.TagByteSizes.MaxSize;
        if (sealedBytes.Length < nonceLength + tagLength)
            return null;
        var plaintext = new byte[sealedBytes.Length - nonceLength - tagLength];
        try
        {
            using var aes = new AesGcm(SealKey(secret), tagLength);
            aes.Decrypt(sealedBytes.AsSpan(0, nonceLength), sealedBytes.AsSpan(nonceLength + tagLength),
                sealedBytes.AsSpan(nonceLength, tagLength), plaintext, context.Bytes());
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static byte[] SealKey(byte[] secret)
    {
        var key = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, key, salt: "abpa3-pair-seal"u8, info: []);
        return key;
    }

    /// <summary>
    /// Runs one throwaway exchange (both sides, a made-up code and devices), so the first real pairing does not
    /// pay for compiling the big-number code: the node calls this in the background once it is up.
    /// </summary>
    public static void WarmUp()
    {
        var context = new Context("warm-up-manager", "warm-up-target", new string('0', 64), new string('1', 64));
        var code = Convert.ToHexString(RandomNumberGenerator.GetBytes(4));
        var initiator = new PakeInitiator(context, code);
        var responder = new PakeResponder(context, code);
        if (responder.Respond(initiator.Start()) is { } rounds && initiator.Answer(rounds.Round1, rounds.Round2) is { } answer
            && responder.Accept(answer.Round2, answer.Confirmation) is { } accepted)
            initiator.Finish(accepted.Confirmation);
    }

    /// <summary>True for what a malformed or hostile payload makes BouncyCastle throw.</summary>
    internal static bool IsRefusal(Exception e) => e is CryptoException or ArgumentException or InvalidOperationException or FormatException;
}

/// <summary>The manager's side of one pairing attempt: round 1 out; the target's rounds 1–2 in, rounds 2–3 out; the target's round 3 in.</summary>
public sealed class PakeInitiator
{
    private readonly JPakeParticipant _participant;
    private readonly DevicePake.Context _context;
    private BigInteger? _keyingMaterial;
    private byte[] _secret = [];

    public PakeInitiator(DevicePake.Context context, string setupCode)
    {
        _context = context;
        _participant = DevicePake.Participant(context.ManagerParticipant, setupCode);
    }

    public DevicePake.Round1 Start() => DevicePake.ToWire(_participant.CreateRound1PayloadToSend());

    /// <summary>Answers the target's rounds 1 and 2 with round 2 and the key confirmation; null if they are malformed or not from the expected target.</summary>
    public (DevicePake.Round2 Round2, DevicePake.Round3 Confirmation)? Answer(DevicePake.Round1 targetRound1, DevicePake.Round2 targetRound2)
    {
        if (targetRound1.ParticipantId != _context.TargetParticipant || targetRound2.ParticipantId != _context.TargetParticipant)
            return null;
        try
        {
            _participant.ValidateRound1PayloadReceived(DevicePake.FromWire(targetRound1));
            var round2 = _participant.CreateRound2PayloadToSend();
            _participant.ValidateRound2PayloadReceived(DevicePake.FromWire(targetRound2));
            var keyingMaterial = _participant.CalculateKeyingMaterial();
            _keyingMaterial = keyingMaterial;
            _secret = DevicePake.Secret(keyingMaterial, _context);
            return (DevicePake.ToWire(round2), DevicePake.ToWire(_participant.CreateRound3PayloadToSend(keyingMaterial)));
        }
        catch (Exception e) when (DevicePake.IsRefusal(e))
        {
            return null;
        }
    }

    /// <summary>
    /// The secret this side derived when it answered: the pair's secret if the target is genuine and the code
    /// right. Used before the target's confirmation arrives only to seal data for it and to remember the pending pairing.
    /// </summary>
    public byte[] DerivedSecret => _secret;

    /// <summary>The pair's shared secret once the target confirmed the same key; null otherwise.</summary>
    public byte[]? Finish(DevicePake.Round3 targetConfirmation)
    {
        if (_keyingMaterial is null || targetConfirmation.ParticipantId != _context.TargetParticipant)
            return null;
        try
        {
            _participant.ValidateRound3PayloadReceived(DevicePake.FromWire(targetConfirmation), _keyingMaterial);
            return _secret;
        }
        catch (Exception e) when (DevicePake.IsRefusal(e))
        {
            return null;
        }
    }
}

/// <summary>The target's side of one pairing attempt: the manager's round 1 in, rounds 1–2 out; its rounds 2–3 in, round 3 out.</summary>
public sealed class PakeResponder
{
    private readonly JPakeParticipant _participant;
    private readonly DevicePake.Context _context;

    public PakeResponder(DevicePake.Context context, string setupCode)
    {
        _context = context;
        _participant = DevicePake.Participant(context.TargetParticipant, setupCode);
    }

    /// <summary>This side's rounds 1 and 2 in answer to the manager's round 1; null if that is malformed or not from the expected manager.</summary>
    public (DevicePake.Round1 Round1, DevicePake.Round2 Round2)? Respond(DevicePake.Round1 managerRound1)
    {
        if (managerRound1.ParticipantId != _context.ManagerParticipant)
            return null;
        try
        {
            var round1 = _participant.CreateRound1PayloadToSend();
            _participant.ValidateRound1PayloadReceived(DevicePake.FromWire(managerRound1));
            return (DevicePake.ToWire(round1), DevicePake.ToWire(_participant.CreateRound2PayloadToSend()));
        }
        catch (Exception e) when (DevicePake.IsRefusal(e))
        {
            return null;
        }
    }

    /// <summary>
    /// Checks the manager's round 2 and key confirmation. On success: this side's confirmation and the pair's
    /// shared secret. Null means a wrong code or an altered exchange: one failed attempt.
    /// </summary>
    public (DevicePake.Round3 Confirmation, byte[] Secret)? Accept(DevicePake.Round2 managerRound2, DevicePake.Round3 managerConfirmation)
    {
        if (managerRound2.ParticipantId != _context.ManagerParticipant || managerConfirmation.ParticipantId != _context.ManagerParticipant)
            return null;
        try
        {
            _participant.ValidateRound2PayloadReceived(DevicePake.FromWire(managerRound2));
            var keyingMaterial = _participant.CalculateKeyingMaterial();
            // BouncyCastle makes this side's confirmation before it checks the other's; it is sent only if the check passes.
            var confirmation = DevicePake.ToWire(_participant.CreateRound3PayloadToSend(keyingMaterial));
            _participant.ValidateRound3PayloadReceived(DevicePake.FromWire(managerConfirmation), keyingMaterial);
            return (confirmation, DevicePake.Secret(keyingMaterial, _context));
        }
        catch (Exception e) when (DevicePake.IsRefusal(e))
        {
            return null;
        }
    }
}
