using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Abpa3.Client;

/// <summary>Accepts exactly the node certificate whose SHA-256 the QR code carried, and nothing else.</summary>
public static class CertificatePin
{
    public static RemoteCertificateValidationCallback For(string certSha256) =>
        (_, certificate, _, _) => certificate is not null
                                  && string.Equals(Convert.ToHexStringLower(SHA256.HashData(certificate.GetRawCertData())),
                                      certSha256, StringComparison.Ordinal);

    public static HttpClient HttpClient(Uri baseAddress, string certSha256)
    {
        var pin = For(certSha256);
        var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = pin },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }
}
