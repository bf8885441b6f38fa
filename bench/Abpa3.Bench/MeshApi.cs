using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Abpa3.Bench;

/// <summary>The owner's view of one node over HTTP(S): claim it, log in, pair devices, list them.</summary>
public sealed class MeshApi(HttpClient http) : IDisposable
{
    public const string OwnerPassword = "benchmark password";

    public HttpClient Http { get; } = http;

    /// <summary>Claims the node as "owner" with its setup code and keeps the access token for later calls.</summary>
    public async Task ClaimAsync(string setupCode)
    {
        var setup = await Http.PostAsJsonAsync("/api/auth/setup", new { username = "owner", password = OwnerPassword, setup_code = setupCode });
        await EnsureAsync(setup, "claiming the node");
        var login = await Http.PostAsJsonAsync("/api/auth/login", new { username = "owner", password = OwnerPassword });
        var body = await EnsureAsync(login, "logging in");
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", body["access_token"]!.GetValue<string>());
    }

    /// <summary><c>POST /api/devices/pair/initiate</c>; the paired device's id.</summary>
    public async Task<string> PairAsync(int targetHttpPort, string setupCode)
    {
        var response = await Http.PostAsJsonAsync("/api/devices/pair/initiate", new { target_ip = $"127.0.0.1:{targetHttpPort}", setup_code = setupCode });
        var body = await EnsureAsync(response, "pairing");
        if (body["status"]?.GetValue<string>() != "paired")
            throw new InvalidOperationException($"pairing did not complete: {body.ToJsonString()}");
        return body["device"]!["device_id"]!.GetValue<string>();
    }

    /// <summary><c>POST /api/devices/discover/manual</c>: the manager probes the device once.</summary>
    public async Task DiscoverAsync(int targetHttpPort)
    {
        var response = await Http.PostAsJsonAsync("/api/devices/discover/manual", new { ip_address = $"127.0.0.1:{targetHttpPort}" });
        await EnsureAsync(response, "discovering");
    }

    /// <summary>The device's <c>online</c> in <c>GET /api/devices</c>; null if it is not listed.</summary>
    public async Task<bool?> IsOnlineAsync(string deviceId, CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync("/api/devices", cancellationToken);
        var body = await EnsureAsync(response, "listing devices");
        var entry = body["devices"]!.AsArray().FirstOrDefault(d => d!["device_id"]!.GetValue<string>() == deviceId);
        return entry?["online"]!.GetValue<bool>();
    }

    public async Task RevokeAsync(string deviceId)
    {
        using var response = await Http.DeleteAsync($"/api/devices/{Uri.EscapeDataString(deviceId)}");
        await EnsureAsync(response, "revoking");
    }

    /// <summary>Polls the device list every <paramref name="interval"/> until the device's <c>online</c> is as wanted.</summary>
    public async Task WaitForOnlineAsync(string deviceId, bool online, TimeSpan interval, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await IsOnlineAsync(deviceId) != online)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"{deviceId} did not become {(online ? "online" : "offline")} within {timeout.TotalSeconds:0.#} s");
            await Task.Delay(interval);
        }
    }

    private static async Task<JsonObject> EnsureAsync(HttpResponseMessage response, string what)
    {
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!.AsObject();
    }

    public void Dispose() => Http.Dispose();
}

/// <summary>A node run as its own process (the Host, as users run it) on fixed loopback ports and its own data directory.</summary>
public sealed class NodeInstance : IAsyncDisposable
{
    private NodeInstance(string dataDir, int httpPort, int remotePort, bool ownsDataDir)
    {
        DataDir = dataDir;
        HttpPort = httpPort;
        RemotePort = remotePort;
        _ownsDataDir = ownsDataDir;
    }

    private readonly bool _ownsDataDir;
    public string DataDir { get; }
    public int HttpPort { get; }
    public int RemotePort { get; }
    public ChildProcess? Process { get; private set; }
    public string DeviceId { get; private set; } = "";
    public string? SetupCode { get; private set; }

    /// <summary>Stopwatch timestamp of the ready line of the latest start.</summary>
    public long ReadyAt { get; private set; }

    public Uri BaseUri => new($"https://127.0.0.1:{HttpPort}/");

    public static NodeInstance Fresh(string kind) => new(Bench.TempDir(kind), Bench.FreePort(), Bench.FreePort(), ownsDataDir: true);

    /// <summary>Starts the node (again, on the same data directory and ports) and waits for its ready line.</summary>
    public async Task StartAsync()
    {
        if (Process is not null)
            await Process.DisposeAsync();
        Process = ChildProcess.StartNode(["--data-dir", DataDir, "--bind", "127.0.0.1",
            "--http-port", HttpPort.ToString(), "--remote-port", RemotePort.ToString()]);
        var (line, at) = await Process.WaitForLineAsync("ABPA3 ", TimeSpan.FromSeconds(60));
        if (line.StartsWith("ABPA3 setup code: ", StringComparison.Ordinal))
        {
            SetupCode = line["ABPA3 setup code: ".Length..].Split(' ')[0];
            (line, at) = await Process.WaitForLineAsync("ABPA3 node ready", TimeSpan.FromSeconds(60));
        }
        if (!line.StartsWith("ABPA3 node ready: ", StringComparison.Ordinal))
            throw new InvalidOperationException($"unexpected first line from the node: {line}");
        ReadyAt = at;
        DeviceId = line.Split(' ').First(p => p.StartsWith("device_id=", StringComparison.Ordinal))["device_id=".Length..];
    }

    public MeshApi Api() => new(Bench.NodeClient(BaseUri));

    /// <summary>What the node printed, and whether it is still running: for the message of a failed run.</summary>
    public string Describe() =>
        Process is null ? "not started"
        : Process.Process.HasExited ? $"exited with {Process.Process.ExitCode}: {Process.Output}"
        : $"running: {Process.Output}";

    public async ValueTask DisposeAsync()
    {
        if (Process is not null)
        {
            await Process.StopAsync(TimeSpan.FromSeconds(10));
            await Process.DisposeAsync();
        }
        if (_ownsDataDir)
            Bench.DeleteDir(DataDir);
    }
}
