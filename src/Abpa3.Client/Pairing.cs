using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Abpa3.Client;

/// <summary>Pairs with a node from its QR payload (seed 000 step 2–4).</summary>
public static class Pairing
{
    public sealed class PairingFailedException(HttpStatusCode status, string detail)
        : Exception($"pairing failed ({(int)status}): {detail}")
    {
        public HttpStatusCode Status { get; } = status;
    }

    public static async Task<PairedCredentials> PairAsync(QrPayload qr, string name, string type, CancellationToken cancellationToken = default)
    {
        var baseAddress = new Uri($"{(qr.Tls ? "https" : "http")}://{qr.Host}:{qr.Port}/");
        using var http = CertificatePin.HttpClient(baseAddress, qr.CertSha256);
        using var response = await http.PostAsJsonAsync("/api/pair",
            new { pairToken = qr.PairToken, deviceInfo = new { name, type } }, cancellationToken);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))?.AsObject();
        if (!response.IsSuccessStatusCode || body is null)
            throw new PairingFailedException(response.StatusCode, body?["detail"]?.GetValue<string>() ?? "");
        return new PairedCredentials(qr.Host, qr.Port, qr.Tls, qr.CertSha256, qr.DeviceId,
            body["deviceId"]!.GetValue<string>(), body["deviceKey"]!.GetValue<string>());
    }
}
