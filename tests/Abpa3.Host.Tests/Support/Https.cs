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

    public Task<HttpResponseMessage> GetAsync(string path) => _client.GetAsync(path);

    public async Task<JsonObject> GetJsonAsync(string path) =>
        JsonNode.Parse(await _client.GetStringAsync(path))!.AsObject();

    /// <summary>GET with an owner's access token; the answer must be a success (a 503 from a busy node is tried again).</summary>
    public async Task<JsonObject> GetJsonAsync(string path, string bearerToken)
    {
        var text = await SendUntilNotBusyAsync(() =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearerToken);
            return request;
        }, $"GET {path}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>GET of bytes with an owner's access token; the answer must be a success.</summary>
    public async Task<byte[]> GetBytesAsync(string path, string bearerToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearerToken);
        using var response = await _client.SendAsync(request);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode}");
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>Signs in and returns the access token.</summary>
    public async Task<string> LoginAsync(string username, string password)
    {
        var text = await SendUntilNotBusyAsync(
            () => new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = JsonContent.Create(new { username, password }) }, "login");
        return JsonNode.Parse(text)!["access_token"]!.GetValue<string>();
    }

    /// <summary>On a loaded machine a node may answer 503 ("did not answer in time; try again"): so the tests do.</summary>
    private async Task<string> SendUntilNotBusyAsync(Func<HttpRequestMessage> request, string what)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var message = request();
            using var response = await _client.SendAsync(message);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && attempt < 5)
            {
                await Task.Delay(1000);
                continue;
            }
            Assert.True(response.IsSuccessStatusCode, $"{what}: {(int)response.StatusCode} {text}");
            return text;
        }
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, object body) => _client.PostAsJsonAsync(path, body);

    public void Dispose() => _client.Dispose();
}
