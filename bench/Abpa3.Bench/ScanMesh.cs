using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Abpa3.Actors.Sensor;

namespace Abpa3.Bench;

/// <summary>
/// A manager and its sensors, each the Host in its own process on fixed loopback ports and its own data
/// directory, the manager claimed and every sensor paired with it over HTTPS (J-PAKE). Disposing stops every
/// node (SIGTERM by process id, kill -9 after a timeout) and deletes every data directory.
/// </summary>
public sealed class ScanMesh : IAsyncDisposable
{
    private ScanMesh(NodeInstance manager, MeshApi api)
    {
        Manager = manager;
        Api = api;
    }

    public NodeInstance Manager { get; }

    public MeshApi Api { get; }

    /// <summary>The started sensors, in the order of <see cref="SensorIds"/>.</summary>
    public List<NodeInstance> Sensors { get; } = [];

    /// <summary>Every sensor node made, started or not: each is stopped and deleted on dispose.</summary>
    private readonly List<NodeInstance> _owned = [];

    /// <summary>Sensor device ids, in the order of <see cref="Sensors"/>.</summary>
    public List<string> SensorIds { get; } = [];

    public string AccessToken => Api.Http.DefaultRequestHeaders.Authorization!.Parameter!;

    /// <summary>Starts the manager and <paramref name="sensors"/> sensors (a few at a time), claims the manager and pairs each sensor.</summary>
    public static async Task<ScanMesh> StartAsync(int sensors, int startAtOnce = 2)
    {
        var manager = NodeInstance.Fresh("scan-manager");
        ScanMesh? mesh = null;
        try
        {
            await manager.StartAsync();
            var api = manager.Api();
            mesh = new ScanMesh(manager, api);
            await api.ClaimAsync(manager.SetupCode!);
            for (var first = 0; first < sensors; first += startAtOnce)
            {
                var batch = await Task.WhenAll(Enumerable.Range(first, Math.Min(startAtOnce, sensors - first)).Select(_ => mesh.StartSensorAsync()));
                foreach (var sensor in batch)
                {
                    mesh.Sensors.Add(sensor);
                    mesh.SensorIds.Add(await api.PairAsync(sensor.HttpPort, sensor.SetupCode!));
                }
            }
            foreach (var id in mesh.SensorIds)
                await api.WaitForOnlineAsync(id, true, TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(30));
            return mesh;
        }
        catch
        {
            if (mesh is not null)
                await mesh.DisposeAsync();
            else
                await manager.DisposeAsync();
            throw;
        }
    }

    /// <summary>Fresh sensors that failed to start (and were replaced by another fresh one).</summary>
    public int FailedStarts { get; private set; }

    /// <summary>
    /// A fresh sensor, started. On a very busy machine a node sometimes gives up during its own start (its internal
    /// 5 s start-up timeout); such a node is stopped and deleted, reported, and another fresh one started, twice at most.
    /// </summary>
    private async Task<NodeInstance> StartSensorAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var sensor = NodeInstance.Fresh("scan-sensor");
            lock (_owned)
                _owned.Add(sensor); // owned by the mesh from here, so a failed start still cleans it up
            try
            {
                await sensor.StartAsync();
                return sensor;
            }
            catch (InvalidOperationException e) when (attempt < 3)
            {
                FailedStarts++;
                Console.Error.WriteLine($"warning: a fresh sensor failed to start (attempt {attempt}), starting another: {e.Message.Split('\n')[0]}");
                lock (_owned)
                    _owned.Remove(sensor);
                await sensor.DisposeAsync();
            }
        }
    }

    /// <summary><c>POST /api/scans</c>; the new scan's id.</summary>
    public async Task<string> StartScanAsync(ScanParameters p, IEnumerable<string> sensors)
    {
        using var response = await Api.Http.PostAsJsonAsync("/api/scans", new
        {
            sensors = sensors.ToArray(),
            @params = new { width = p.Width, height = p.Height, segments = p.Segments, seed = p.Seed, rows_per_second = p.RowsPerSecond },
        });
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != 202)
            throw new InvalidOperationException($"starting a scan: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["scan_id"]!.GetValue<string>();
    }

    public async Task<JsonObject> GetScanAsync(string scanId)
    {
        using var response = await Api.Http.GetAsync($"/api/scans/{scanId}");
        var text = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? JsonNode.Parse(text)!.AsObject() : throw new InvalidOperationException($"GET scan: {(int)response.StatusCode} {text}");
    }

    public async Task<byte[]> GetScanDataAsync(string scanId)
    {
        using var response = await Api.Http.GetAsync($"/api/scans/{scanId}/data");
        var bytes = await response.Content.ReadAsByteArrayAsync();
        return response.IsSuccessStatusCode ? bytes : throw new InvalidOperationException($"GET scan data: {(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");
    }

    /// <summary>The assembled result the scan must return, from the simulated driver directly.</summary>
    public static byte[] Expected(ScanParameters p) => new SimulatedDriver().ReadRows(p, 0, p.Height);

    /// <summary>Null when the bytes are exactly right; otherwise what is wrong.</summary>
    public static string? Compare(byte[] actual, byte[] expected)
    {
        if (actual.Length != expected.Length)
            return $"{actual.Length} bytes, expected {expected.Length}";
        var first = actual.AsSpan().CommonPrefixLength(expected);
        return first == actual.Length ? null : $"bytes differ from offset {first}";
    }

    /// <summary>The manager's and every sensor's process ids (those running now).</summary>
    public IEnumerable<int> ProcessIds() =>
        Sensors.Prepend(Manager).Where(n => n.Process is { Process.HasExited: false }).Select(n => n.Process!.Id);

    public async ValueTask DisposeAsync()
    {
        // Sensors first (a few at a time), the manager last; every node is stopped and its directory deleted, whatever fails.
        List<NodeInstance> owned;
        lock (_owned)
            owned = [.. _owned];
        foreach (var chunk in owned.Chunk(8))
            await Task.WhenAll(chunk.Select(async s =>
            {
                try
                {
                    await s.DisposeAsync();
                }
                catch (Exception e)
                {
                    Console.Error.WriteLine($"warning: stopping a sensor: {e.Message}");
                }
            }));
        Api.Dispose();
        await Manager.DisposeAsync();
    }
}

/// <summary>One event from the manager's <c>/ws</c>, stamped with the Stopwatch time it was read.</summary>
public sealed record MeshEvent(string Topic, JsonObject Data, long At)
{
    public string? Text(string name) => Data[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}

/// <summary>
/// The owner's WebSocket to a node (<c>wss://…/ws</c>): authenticates with the access token, subscribes to
/// topics, and records every event with the moment it arrived, so a benchmark learns when the node announced
/// something without polling.
/// </summary>
public sealed class MeshSocket : IAsyncDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly List<MeshEvent> _events = [];
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _receiving;

    /// <summary>Set when the node said some events were lost to this socket (<c>resync_required</c>).</summary>
    public bool ResyncRequired { get; private set; }

    public static async Task<MeshSocket> ConnectAsync(Uri nodeBase, string accessToken, params string[] topics)
    {
        var socket = new MeshSocket();
        socket._socket.Options.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null;
        var uri = new UriBuilder(nodeBase) { Scheme = nodeBase.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;
        await socket._socket.ConnectAsync(uri, CancellationToken.None);
        await socket.SendAsync(new { type = "auth", access_token = accessToken });
        var welcome = await socket.ReceiveAsync();
        if (welcome?["type"]?.GetValue<string>() != "welcome")
            throw new InvalidOperationException($"no welcome on /ws: {welcome?.ToJsonString() ?? "closed"}");
        await socket.SendAsync(new { type = "subscribe", topics });
        var subscribed = await socket.ReceiveAsync();
        if (subscribed?["type"]?.GetValue<string>() != "subscribed")
            throw new InvalidOperationException($"subscribe refused on /ws: {subscribed?.ToJsonString() ?? "closed"}");
        socket._receiving = Task.Run(socket.ReceiveLoopAsync);
        return socket;
    }

    /// <summary>How many events have arrived so far: a mark to wait from.</summary>
    public int Mark()
    {
        lock (_events)
            return _events.Count;
    }

    /// <summary>The first event from index <paramref name="from"/> on that matches.</summary>
    public async Task<MeshEvent> WaitForAsync(int from, Func<MeshEvent, bool> match, TimeSpan timeout, string what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var index = from;
        while (true)
        {
            Task changed;
            lock (_events)
            {
                for (; index < _events.Count; index++)
                    if (match(_events[index]))
                        return _events[index];
                changed = _changed.Task;
            }
            var left = TimeSpan.FromSeconds((deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
            if (left <= TimeSpan.Zero || _receiving is { IsCompleted: true })
                throw new TimeoutException($"no event on /ws: {what} within {timeout.TotalSeconds:0.#} s{(ResyncRequired ? " (events were lost: resync_required)" : "")}");
            await Task.WhenAny(changed, Task.Delay(left));
        }
    }

    /// <summary>Every event from index <paramref name="from"/> that matches, as it stands now.</summary>
    public List<MeshEvent> Since(int from, Func<MeshEvent, bool> match)
    {
        lock (_events)
            return _events.Skip(from).Where(match).ToList();
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (await ReceiveAsync() is { } message)
            {
                var at = Stopwatch.GetTimestamp();
                switch (message["type"]?.GetValue<string>())
                {
                    case "event" when message["data"] is JsonObject data:
                        lock (_events)
                        {
                            _events.Add(new MeshEvent(message["topic"]!.GetValue<string>(), data, at));
                            var changed = _changed;
                            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                            changed.TrySetResult();
                        }
                        break;
                    case "resync_required":
                        ResyncRequired = true;
                        break;
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        lock (_events)
            _changed.TrySetResult();
    }

    private Task SendAsync(object message) =>
        _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, _stop.Token);

    private async Task<JsonObject?> ReceiveAsync()
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
            var result = await _socket.ReceiveAsync(buffer.AsMemory(length), _stop.Token);
            if (result.MessageType == WebSocketMessageType.Close)
                return null;
            length += result.Count;
            if (result.EndOfMessage)
                return JsonNode.Parse(buffer.AsSpan(0, length))!.AsObject();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        if (_receiving is not null)
            await _receiving;
        _socket.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Memory and CPU of the benchmark's node processes, from <c>/proc</c>.</summary>
public static class ProcStats
{
    /// <summary>Resident set size (MB).</summary>
    public static double RssMb(int pid) => StatusKb(pid, "VmRSS:") / 1024.0;

    /// <summary>Proportional set size (MB): shared pages (the runtime, the node's assemblies) split among the processes that map them.</summary>
    public static double PssMb(int pid) => Kb($"/proc/{pid}/smaps_rollup", "Pss:") / 1024.0;

    /// <summary>Private pages (MB): what this process alone holds.</summary>
    public static double PrivateMb(int pid) =>
        (Kb($"/proc/{pid}/smaps_rollup", "Private_Clean:") + Kb($"/proc/{pid}/smaps_rollup", "Private_Dirty:")) / 1024.0;

    private static long StatusKb(int pid, string field) => Kb($"/proc/{pid}/status", field);

    private static long Kb(string path, string field)
    {
        var line = File.ReadLines(path).FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line[field.Length..].Trim().Split(' ')[0]);
    }

    /// <summary>The 1-minute load average.</summary>
    public static double LoadAverage() => double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Total CPU time so far of these processes (those that have exited count zero).</summary>
    public static TimeSpan CpuTime(IEnumerable<int> pids) =>
        pids.Aggregate(TimeSpan.Zero, (sum, pid) =>
        {
            try
            {
                return sum + ChildProcess.CpuTime(pid);
            }
            catch (IOException)
            {
                return sum;
            }
        });
}
