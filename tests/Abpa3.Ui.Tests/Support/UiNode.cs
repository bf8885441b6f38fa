using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Abpa3.Actors.Configuration;
using Abpa3.Web;
using Microsoft.Extensions.Logging;

namespace Abpa3.Ui.Tests.Support;

/// <summary>
/// A real node (actor system, SQLite journal, Kestrel serving the UI) on a free 127.0.0.1 port with its own data
/// directory, and an HTTP client for arranging what a test does not click through.
/// </summary>
public sealed class UiNode : IAsyncDisposable
{
    public const string OwnerPassword = "correct horse battery";

    private readonly bool _ownsDataDir;
    private bool _stopped;

    private UiNode(MeshNode node, string dataDir, WarningLog log, bool ownsDataDir)
    {
        Node = node;
        DataDir = dataDir;
        Log = log;
        _ownsDataDir = ownsDataDir;
        // Pinned to the node's own certificate, as a paired client would be (no effect over plain HTTP).
        Http = Abpa3.Client.CertificatePin.HttpClient(node.HttpUrl, node.Identity.CertSha256);
    }

    public MeshNode Node { get; }
    public string DataDir { get; }
    public WarningLog Log { get; }
    public HttpClient Http { get; }
    public string Url => Node.HttpUrl.ToString();

    /// <summary>What an owner types on the devices page: host:port of this node's edge.</summary>
    public string Address => $"127.0.0.1:{Node.HttpUrl.Port}";

    public string DeviceId => Node.Identity.DeviceId.Value;
    public string SetupCode => Node.Identity.SetupCode.Reveal();
    public string CertSha256 => Node.Identity.CertSha256;

    public static async Task<UiNode> StartAsync(string name, IReadOnlyDictionary<string, string>? overrides = null, string? dataDir = null,
        bool plainHttp = true)
    {
        var ownsDataDir = dataDir is null;
        dataDir ??= Path.Combine(Path.GetTempPath(), "abpa3-ui-" + Guid.NewGuid().ToString("N"));
        var all = new Dictionary<string, string>
        {
            ["abpa3.node.data-dir"] = dataDir,
            ["abpa3.node.name"] = name,
            ["abpa3.node.bind"] = "127.0.0.1",
            ["abpa3.node.http-port"] = "0",
            ["abpa3.node.remote-port"] = "0",
            ["abpa3.node.plain-http"] = plainHttp ? "on" : "off",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
            all[key] = value;
        var config = MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(all);
        var log = new WarningLog();
        var node = MeshNode.Create(config, logging: logging => logging.AddProvider(log).SetMinimumLevel(LogLevel.Warning));
        await node.StartAsync();
        return new UiNode(node, dataDir, log, ownsDataDir);
    }

    public async Task SetupOwnerAsync()
    {
        var response = await Http.PostAsJsonAsync("/api/auth/setup", new { username = "owner", password = OwnerPassword, setup_code = SetupCode });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public async Task<string> LoginAsync()
    {
        var response = await Http.PostAsJsonAsync("/api/auth/login", new { username = "owner", password = OwnerPassword });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await ReadJsonAsync(response))["access_token"]!.GetValue<string>();
    }

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string token, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await Http.SendAsync(request);
    }

    /// <summary>Pairs a sensor through the API (for tests whose subject is something else).</summary>
    public async Task PairSensorAsync(string token, UiNode sensor)
    {
        var response = await SendAsync(HttpMethod.Post, "/api/devices/pair/initiate", token,
            new { target_ip = sensor.Address, setup_code = sensor.SetupCode });
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        await Eventually.TrueAsync(async () =>
        {
            var devices = await ReadJsonAsync(await SendAsync(HttpMethod.Get, "/api/devices", token));
            return devices["devices"]!.AsArray().Any(d => d!["device_id"]!.GetValue<string>() == sensor.DeviceId && d["online"]!.GetValue<bool>());
        }, $"{sensor.DeviceId} online at its manager");
    }

    public static async Task<JsonObject> ReadJsonAsync(HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();

    /// <summary>Stops the node as a power cut would look to its peers (its edge and link go away); idempotent.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
            return;
        _stopped = true;
        await Node.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await StopAsync();
        if (_ownsDataDir && Directory.Exists(DataDir))
            Directory.Delete(DataDir, recursive: true);
    }

    /// <summary>Warnings and errors a node logs, for a test's failure message.</summary>
    public sealed class WarningLog : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyCollection<string> Lines => _lines;

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

        public void Dispose() { }

        private sealed class Logger(string category, ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                    lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
            }
        }
    }
}

public static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(20));
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for: {what}");
            await Task.Delay(100);
        }
    }
}
