using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Abpa3.Actors.Identity;

/// <summary>Who this node is: created on first boot and reused on every boot after.</summary>
public sealed record NodeIdentity(
    DeviceId DeviceId,
    string SerialNumber,
    string Name,
    X509Certificate2 Certificate,
    SetupCode SetupCode)
{
    /// <summary>Lowercase hex SHA-256 of the DER certificate: the device's public identity.</summary>
    public string CertSha256 { get; } = Fingerprint(Certificate);

    public static string Fingerprint(X509Certificate certificate) =>
        Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData()));
}
