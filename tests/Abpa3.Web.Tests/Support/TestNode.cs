using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Abpa3.Actors.Configuration;
using Abpa3.Web;
using Microsoft.Extensions.Logging;

namespace Abpa3.Web.Tests.Support;

/// <summary>
/// A real node (actor system, SQLite journal, Kestrel) on a free loopback port with its own data
/// directory, and an HTTP client pointed at it.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    public const string OwnerPassword = "correct horse battery";

    private TestNode(MeshNode node, string dataDir, AdjustableClock clock, CapturedLogs logs, bool ownsDataDir)
    {
        Node = node;
        DataDir = dataDir;
        Clock = clock;
        Logs = logs;
        _ownsDataDir = ownsDataDir;
        // Pinned to the node's own certificate, as a paired client would be (no effect over plain HTTP).
        Http = Abpa3.Client.CertificatePin.HttpClient(node.HttpUrl, node.Identity.CertSha256);
    }

    private readonly bool _ownsDataDir;
    public MeshNode Node { get; }
    public string DataDir { get; }
    public AdjustableClock Clock { get; }
    public CapturedLogs Logs { get; }
    public HttpClient Http { get; }
    public string SetupCode => Node.Identity.SetupCode.Reveal();

    public static async Task<TestNode> StartAsync(
        IReadOnlyDictionary<string, string>? overrides = null, string? dataDir = null, bool plainHttp = true)
    {
        var ownsDataDir = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "abpa3-web-" + Guid.NewGuid().ToString("N"));
        var all = new Dictionary<string, string>
        {
            ["abpa3.node.data-dir"] = dataDir,
            ["abpa3.node.bind"] = "127.0.0.1",
            ["abpa3.node.http-port"] = "0",
            ["abpa3.node.remote-port"] = "0",
            ["abpa3.node.plain-http"] = plainHttp ? "on" : "off",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
            all[key] = value;
        var config = MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(all);
        var clock = new AdjustableClock();
        var logs = new CapturedLogs();
        var node = MeshNode.Create(config, clock, logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        await node.StartAsync();
        return new TestNode(node, dataDir, clock, logs, ownsDataDir);
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, object body, string? token = null) =>
        SendAsync(HttpMethod.Post, path, JsonContent.Create(body), token);

    public Task<HttpResponseMessage> PostRawAsync(string path, string body, string contentType = "application/json") =>
        SendAsync(HttpMethod.Post, path, new StringContent(body, System.Text.Encoding.UTF8, contentType), null);

    public Task<HttpResponseMessage> GetAsync(string path, string? token = null) => SendAsync(HttpMethod.Get, path, null, token);

    private Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, string? token)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (token is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Http.SendAsync(request);
    }

    /// <summary>Claims the node with its setup code as "owner".</summary>
    public async Task SetupOwnerAsync(string username = "owner", string password = OwnerPassword)
    {
        var response = await PostJsonAsync("/api/auth/setup", new { username, password, setup_code = SetupCode });
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    public async Task<string> LoginAsync(string username = "owner", string password = OwnerPassword)
    {
        var response = await PostJsonAsync("/api/auth/login", new { username, password });
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var body = await ReadJsonAsync(response);
        return body["access_token"]!.GetValue<string>();
    }

    /// <summary>The owner's journey of seed 000: create a QR code, decode its payload, pair with it.</summary>
    public async Task<Abpa3.Client.PairedCredentials> PairClientAsync(string ownerToken, string name = "Pixel 7", string type = "mobile")
    {
        var qr = await ReadJsonAsync(await PostJsonAsync("/api/pairing/qr", new { }, ownerToken));
        var payload = Abpa3.Client.QrPayload.Parse(qr["payload"]!.ToJsonString());
        return await Abpa3.Client.Pairing.PairAsync(payload, name, type);
    }

    public Task<HttpResponseMessage> DeleteAsync(string path, string? token = null) => SendAsync(HttpMethod.Delete, path, null, token);

    public static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    /// <summary>Asserts an RFC 7807 answer with this status, and returns its body.</summary>
    public static async Task<JsonObject> AssertProblemAsync(HttpResponseMessage response, int status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonNode.Parse(text)!.AsObject();
        Assert.Equal(status, body["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(body["title"]?.GetValue<string>()));
        return body;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Node.DisposeAsync();
        if (_ownsDataDir && Directory.Exists(DataDir))
            Directory.Delete(DataDir, recursive: true);
    }
}
