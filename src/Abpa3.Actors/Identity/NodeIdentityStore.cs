using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Abpa3.Actors.Identity;

/// <summary>
/// Loads the node's identity from its data directory, creating it on first boot. Every file that
/// holds a secret (private key, setup code, signing key) is readable by the owner only.
/// </summary>
public static class NodeIdentityStore
{
    public const string IdentityFile = "identity.json";
    public const string CertificateFile = "node-cert.pfx";
    public const string SetupCodeFile = "setup-code.txt";
    private static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(3650);

    private sealed record StoredIdentity(
        [property: JsonPropertyName("device_id")] string DeviceId,
        [property: JsonPropertyName("serial_number")] string SerialNumber,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt);

    /// <param name="dataDir">The node's data directory; created (owner-only) if missing.</param>
    /// <param name="configuredDeviceId">Used on first boot; must match the stored id afterwards.</param>
    /// <param name="configuredName">Renames the node when given.</param>
    public static NodeIdentity LoadOrCreate(string dataDir, string? configuredDeviceId, string? configuredName)
    {
        DataDirectory.Ensure(dataDir);
        var stored = LoadOrCreateRecord(dataDir, configuredDeviceId, configuredName);
        var deviceId = DeviceId.Parse(stored.DeviceId);
        var certificate = LoadOrCreateCertificate(Path.Combine(dataDir, CertificateFile), stored.Name);
        var setupCode = LoadOrCreateSetupCode(Path.Combine(dataDir, SetupCodeFile));
        return new NodeIdentity(deviceId, stored.SerialNumber, stored.Name, certificate, setupCode);
    }

    private static StoredIdentity LoadOrCreateRecord(string dataDir, string? configuredDeviceId, string? configuredName)
    {
        var path = Path.Combine(dataDir, IdentityFile);
        if (configuredName is not null)
            ValidateName(configuredName);

        if (File.Exists(path))
        {
            var stored = JsonSerializer.Deserialize<StoredIdentity>(File.ReadAllText(path))
                         ?? throw new InvalidDataException($"{path} is empty");
            if (!DeviceId.TryParse(stored.DeviceId, out _))
                throw new InvalidDataException($"{path} holds an invalid device_id");
            if (configuredDeviceId is not null && configuredDeviceId != stored.DeviceId)
                throw new InvalidOperationException(
                    $"This data directory belongs to device '{stored.DeviceId}'; a device id cannot change after first boot (configured: '{configuredDeviceId}').");
            if (configuredName is null || configuredName == stored.Name)
                return stored;
            var renamed = stored with { Name = configuredName };
            DataDirectory.WriteOwnerOnly(path, JsonSerializer.SerializeToUtf8Bytes(renamed));
            return renamed;
        }

        var deviceId = configuredDeviceId is null ? "abpa3-" + RandomHex(6) : DeviceId.Parse(configuredDeviceId).Value;
        var created = new StoredIdentity(
            deviceId,
            SerialNumber: $"A3-{RandomHex(2).ToUpperInvariant()}-{RandomHex(2).ToUpperInvariant()}-{RandomHex(2).ToUpperInvariant()}",
            Name: configuredName ?? deviceId,
            CreatedAt: DateTimeOffset.UtcNow);
        DataDirectory.WriteOwnerOnly(path, JsonSerializer.SerializeToUtf8Bytes(created));
        return created;
    }

    private static void ValidateName(string name)
    {
        if (name.Length is 0 or > 64 || name.Any(char.IsControl))
            throw new ArgumentException("A node name has 1–64 printable characters.", nameof(name));
    }

    private static X509Certificate2 LoadOrCreateCertificate(string path, string name)
    {
        if (!File.Exists(path))
            DataDirectory.WriteOwnerOnly(path, CreateSelfSigned(name).Export(X509ContentType.Pkcs12));
        return X509CertificateLoader.LoadPkcs12FromFile(path, password: null, X509KeyStorageFlags.EphemeralKeySet);
    }

    private static X509Certificate2 CreateSelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var subject = new X500DistinguishedName($"CN={SanitizeCommonName(name)}, O=ABPA3 Mesh");
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client auth
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.Add(CertificateLifetime));
    }

    private static string SanitizeCommonName(string name) =>
        new string(name.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or ' ').Take(64).ToArray()) is { Length: > 0 } cn ? cn : "abpa3-node";

    private static SetupCode LoadOrCreateSetupCode(string path)
    {
        if (File.Exists(path))
        {
            var text = File.ReadAllText(path).Trim();
            return SetupCode.TryParse(text, out var code)
                ? code!
                : throw new InvalidDataException($"{path} does not hold an 8-digit setup code");
        }
        var created = SetupCode.Generate();
        DataDirectory.WriteOwnerOnly(path, System.Text.Encoding.ASCII.GetBytes(created.Reveal() + "\n"));
        return created;
    }

    private static string RandomHex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
}
