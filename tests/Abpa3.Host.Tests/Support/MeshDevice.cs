using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace Abpa3.Host.Tests.Support;

/// <summary>
/// One device (a node process) across its restarts: its data directory and ports stay, the process and the HTTP
/// client are replaced. Disposing kills whatever still runs and deletes the data directory.
/// </summary>
public sealed class MeshDevice(string label, Action<string> log, NodePorts? ports = null) : IAsyncDisposable
{
    /// <summary>The owner account every process test claims its manager with (sensors receive it when paired).</summary>
    public const string Username = "owner";
    public const string Password = "correct horse battery";

    private readonly List<string> _previousOutput = [];
    private Https? _http;
    private NodeProcess? _process;

    public string Label { get; } = label;
    public string DataDir { get; } = Path.Combine(Path.GetTempPath(), $"abpa3-{label}-{Guid.NewGuid():N}");
    public NodePorts Ports { get; } = ports ?? NodePorts.Free();
    public NodeProcess Process => _process ?? throw new InvalidOperationException($"the {Label} has not started");
    public Https Http => _http ?? throw new InvalidOperationException($"the {Label} has not started");
    public string DeviceId => Process.DeviceId;
    /// <summary>What the manager types as the target's address.</summary>
    public string Address => $"127.0.0.1:{Ports.Http}";
    public string SetupCode => File.ReadAllText(Path.Combine(DataDir, "setup-code.txt")).Trim();
    public IEnumerable<string> Output => _previousOutput.Concat(_process?.Output ?? []);

    public async Task StartAsync(IReadOnlyDictionary<string, string>? environment = null)
    {
        var clock = Stopwatch.StartNew();
        _process = await NodeProcess.StartAsync(DataDir, Ports, environment: environment);
        _http = new Https(_process.HttpUrl);
        log($"{Label} (pid {_process.Pid}) ready after {clock.Elapsed.TotalMilliseconds:0} ms");
    }

    /// <summary>Starts the stopped node again on the same data directory and ports, with another environment when given.</summary>
    public async Task RestartAsync(IReadOnlyDictionary<string, string>? environment = null)
    {
        var old = Process;
        var deviceId = old.DeviceId;
        var token = _http?.AccessToken;
        _http?.Dispose();
        _http = null;
        _previousOutput.AddRange(old.Output);
        _previousOutput.Add($"---- {Label} restarted ----");
        var clock = Stopwatch.StartNew();
        _process = await old.RestartAsync(environment);
        log($"{Label} restarted (pid {_process.Pid}), ready after {clock.Elapsed.TotalMilliseconds:0} ms");
        await old.DisposeAsync();
        // The signing key lives in the data directory: a token issued before the restart is still good.
        _http = new Https(_process.HttpUrl) { AccessToken = token };
        Assert.Equal(deviceId, _process.DeviceId);
        Assert.Equal(Ports.Http, _process.HttpUrl.Port);
    }

    /// <summary>kill -9.</summary>
    public async Task KillAsync()
    {
        await Process.KillAsync();
        log($"{Label} killed (kill -9)");
    }

    /// <summary>Signs in as the owner; every later request of <see cref="Http"/> carries the token.</summary>
    public async Task LoginAsync()
    {
        Http.AccessToken = null;
        var login = await Http.PostJsonAsync("/api/auth/login", new { username = Username, password = Password });
        var text = await login.Content.ReadAsStringAsync();
        Assert.True(login.StatusCode == HttpStatusCode.OK, $"login to the {Label} answered {(int)login.StatusCode}: {text}");
        Http.AccessToken = JsonNode.Parse(text)!["access_token"]!.GetValue<string>();
    }

    /// <summary>Claims this (unconfigured) device for the owner with its setup code, and signs in.</summary>
    public async Task SetUpOwnerAsync()
    {
        var setup = await Http.PostJsonAsync("/api/auth/setup", new { username = Username, password = Password, setup_code = SetupCode });
        Assert.True(setup.StatusCode == HttpStatusCode.OK, $"setting up the {Label} answered {(int)setup.StatusCode}: {await setup.Content.ReadAsStringAsync()}");
        await LoginAsync();
    }

    /// <summary>Asks this device (a manager) to pair with <paramref name="sensor"/> by its address and setup code.</summary>
    public Task<HttpResponseMessage> PairAsync(MeshDevice sensor) =>
        Http.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = sensor.Address, setup_code = sensor.SetupCode });

    /// <summary>The last lines of output, for a failure message.</summary>
    public string Tail(int lines = 15) => string.Join('\n', Output.TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        _http?.Dispose();
        if (_process is not null)
            await _process.DisposeAsync();
        for (var attempt = 0; Directory.Exists(DataDir); attempt++)
        {
            try
            {
                Directory.Delete(DataDir, recursive: true);
            }
            catch (IOException) when (attempt < 5)
            {
                await Task.Delay(100);
            }
        }
    }
}
