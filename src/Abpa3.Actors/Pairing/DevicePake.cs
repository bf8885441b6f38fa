using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Agreement.Srp;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Security;
using BigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Abpa3.Actors.Pairing;

/// <summary>
/// Device-to-device pairing without sending a secret (SPEC §5, THREATS T4): SRP-6a (RFC 5054, 3072-bit
/// group, SHA-256, BouncyCastle) keyed by the target's setup code, then a key confirmation over the
/// whole transcript with both devices' ids and certificate fingerprints bound in. A relay that alters
/// anything, or presents its own certificate to either side, makes the confirmation fail; an attacker
/// gets one online guess at the code per attempt and learns nothing it could test offline.
/// </summary>
public static class DevicePake
{
    private static readonly BigInteger N = Srp6StandardGroups.rfc5054_3072.N;
    private static readonly BigInteger G = Srp6StandardGroups.rfc5054_3072.G;
    public const int SaltBytes = 16;
    public const int SecretBytes = 32;

    /// <summary>What the target keeps instead of its code: a salt and the SRP verifier (made once per setup code).</summary>
    public sealed record Verifier(byte[] Salt, byte[] Value);

    /// <summary>Who is pairing with whom, as each side sees it (the fingerprints of the TLS certificates in use).</summary>
    public sealed record Context(string ManagerId, string TargetId, string ManagerCertSha256, string TargetCertSha256)
    {
        internal byte[] Bytes() => Encoding.UTF8.GetBytes($"abpa3-pair-v1|{ManagerId}|{TargetId}|{ManagerCertSha256}|{TargetCertSha256}");
    }

    /// <summary>The target's first message: the salt and its public value.</summary>
    public sealed record Challenge(byte[] Salt, byte[] B);

    /// <summary>The manager's answer: its public value, SRP's M1 and its confirmation of the transcript.</summary>
    public sealed record Proof(byte[] A, byte[] M1, byte[] ManagerConfirm);

    /// <summary>The target's proof: SRP's M2 and its confirmation of the transcript.</summary>
    public sealed record Acceptance(byte[] M2, byte[] TargetConfirm);

    public static Verifier MakeVerifier(string targetId, string setupCode)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var generator = new Srp6VerifierGenerator();
        generator.Init(N, G, new Sha256Digest());
        var v = generator.GenerateVerifier(salt, Encoding.UTF8.GetBytes(targetId), Encoding.UTF8.GetBytes(setupCode));
        return new Verifier(salt, v.ToByteArrayUnsigned());
    }

    /// <summary>
    /// The pair's shared secret and the confirmation key, both from SRP's shared premaster secret S and the context:
    /// a different context (another certificate, another device) gives different keys.
    /// </summary>
    internal static (byte[] Secret, byte[] ConfirmKey) Keys(BigInteger premaster, Context context, byte[] a, byte[] b)
    {
        var ikm = premaster.ToByteArrayUnsigned();
        var info = context.Bytes().Concat(SHA256.HashData([.. a, .. b])).ToArray();
        var secret = new byte[SecretBytes];
        var confirm = new byte[32];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, secret, salt: "abpa3-pair-secret"u8, info: info);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, confirm, salt: "abpa3-pair-confirm"u8, info: info);
        return (secret, confirm);
    }

    internal static byte[] Confirmation(byte[] key, string role, Context context, byte[] a, byte[] b) =>
        HMACSHA256.HashData(key, (byte[])[.. Encoding.UTF8.GetBytes(role), .. context.Bytes(), .. a, .. b]);

    /// <summary>
    /// Seals data for the other side under a key derived from the pair's secret (AES-256-GCM, the context as
    /// associated data): how the manager hands its owner account to an unconfigured target, readable only by
    /// a target that proved the code.
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

    internal static Srp6Client NewClient()
    {
        var client = new Srp6Client();
        client.Init(N, G, new Sha256Digest(), new SecureRandom());
        return client;
    }

    internal static Srp6Server NewServer(byte[] verifier)
    {
        var server = new Srp6Server();
        server.Init(N, G, new BigInteger(1, verifier), new Sha256Digest(), new SecureRandom());
        return server;
    }
}

/// <summary>The manager's side of one pairing attempt.</summary>
public sealed class PakeInitiator
{
    private readonly Srp6Client _client = DevicePake.NewClient();
    private readonly string _targetId;
    private readonly string _setupCode;
    private readonly DevicePake.Context _context;
    private byte[] _a = [];
    private byte[] _b = [];
    private byte[] _confirmKey = [];
    private byte[] _secret = [];

    public PakeInitiator(DevicePake.Context context, string setupCode)
    {
        _context = context;
        _targetId = context.TargetId;
        _setupCode = setupCode;
    }

    /// <summary>Answers the target's challenge; null if the challenge is malformed.</summary>
    public DevicePake.Proof? Answer(DevicePake.Challenge challenge)
    {
        try
        {
            var a = _client.GenerateClientCredentials(challenge.Salt, Encoding.UTF8.GetBytes(_targetId), Encoding.UTF8.GetBytes(_setupCode));
            var premaster = _client.CalculateSecret(new BigInteger(1, challenge.B));
            _a = a.ToByteArrayUnsigned();
            _b = challenge.B;
            var m1 = _client.CalculateClientEvidenceMessage().ToByteArrayUnsigned();
            (_secret, _confirmKey) = DevicePake.Keys(premaster, _context, _a, _b);
            return new DevicePake.Proof(_a, m1, DevicePake.Confirmation(_confirmKey, "manager", _context, _a, _b));
        }
        catch (Exception e) when (e is CryptoException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>
    /// The secret this side derived when it answered: the pair's secret if the target is genuine and the code
    /// right. Used before the target's proof arrives only to seal data for it and to remember the pending pairing.
    /// </summary>
    public byte[] DerivedSecret => _secret;

    /// <summary>The pair's shared secret once the target proved it derived the same keys; null otherwise.</summary>
    public byte[]? Finish(DevicePake.Acceptance acceptance)
    {
        try
        {
            if (!_client.VerifyServerEvidenceMessage(new BigInteger(1, acceptance.M2)))
                return null;
        }
        catch (Exception e) when (e is CryptoException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
        var expected = DevicePake.Confirmation(_confirmKey, "target", _context, _a, _b);
        return CryptographicOperations.FixedTimeEquals(expected, acceptance.TargetConfirm) ? _secret : null;
    }
}

/// <summary>The target's side of one pairing attempt.</summary>
public sealed class PakeResponder
{
    private readonly Srp6Server _server;
    private readonly DevicePake.Verifier _verifier;
    private readonly DevicePake.Context _context;
    private byte[] _b = [];

    public PakeResponder(DevicePake.Verifier verifier, DevicePake.Context context)
    {
        _verifier = verifier;
        _context = context;
        _server = DevicePake.NewServer(verifier.Value);
    }

    public DevicePake.Challenge Challenge()
    {
        _b = _server.GenerateServerCredentials().ToByteArrayUnsigned();
        return new DevicePake.Challenge(_verifier.Salt, _b);
    }

    /// <summary>
    /// Checks the manager's proof. On success: the target's acceptance and the pair's shared secret.
    /// Null means a wrong code or an altered exchange: one failed attempt.
    /// </summary>
    public (DevicePake.Acceptance Acceptance, byte[] Secret)? Accept(DevicePake.Proof proof)
    {
        try
        {
            var premaster = _server.CalculateSecret(new BigInteger(1, proof.A));
            if (!_server.VerifyClientEvidenceMessage(new BigInteger(1, proof.M1)))
                return null;
            var (secret, confirmKey) = DevicePake.Keys(premaster, _context, proof.A, _b);
            if (!CryptographicOperations.FixedTimeEquals(DevicePake.Confirmation(confirmKey, "manager", _context, proof.A, _b), proof.ManagerConfirm))
                return null;
            var m2 = _server.CalculateServerEvidenceMessage().ToByteArrayUnsigned();
            return (new DevicePake.Acceptance(m2, DevicePake.Confirmation(confirmKey, "target", _context, proof.A, _b)), secret);
        }
        catch (Exception e) when (e is CryptoException or ArgumentException or InvalidOperationException)
        {
            return null;
        }
    }
}
