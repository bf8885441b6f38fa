using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Abpa3.Host.Tests.Support;

/// <summary>An HTTP client for a node's self-signed HTTPS edge, remembering the certificate it was shown.</summary>
public sealed class Https : IDisposable
{
    private readonly HttpClient _client;

    public Https(Uri baseAddress) => _client = new HttpClient(new HttpClientHandler
    {
        // Trust on first use, as a tester would; the fingerprint is checked by the assertions.
        ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
        {
            ServedCertSha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(certificate!.RawData));
            return true;
        },
    }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public string? ServedCertSha256 { get; private set; }

    /// <summary>The bearer token sent with every request from now on (null: none).</summary>
    public string? AccessToken
    {
        get => _client.DefaultRequestHeaders.Authorization?.Parameter;
        set => _client.DefaultRequestHeaders.Authorization = value is null ? null : new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", value);
    }

    public Task<HttpResponseMessage> DeleteAsync(string path) => _client.DeleteAsync(path);

    public async Task<JsonObject> GetJsonAsync(string path) =>
        JsonNode.Parse(await _client.GetStringAsync(path))!.AsObject();

    public Task<HttpResponseMessage> PostJsonAsync(string path, object body) => _client.PostAsJsonAsync(path, body);

    public void Dispose() => _client.Dispose();
}
