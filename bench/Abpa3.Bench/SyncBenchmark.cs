using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Abpa3.Bench;

/// <summary>
/// Client pairing and the sync channel under load, all on loopback:
/// 1. QR pairing round trip (owner creates a QR code, the client pairs with its token) for every client.
/// 2. Memory per idle session: node RSS with all clients connected and subscribed, minus before.
/// 3. Fan-out: one client publishes on <c>ui</c>, every other client receives; events/s delivered and
///    publish→receive latency. Baseline in the same run: <see cref="BareBroadcastServer"/> with the
///    same clients, publisher and payload.
/// Both servers run as separate processes over plain HTTP (TLS costs the same for both and is left out).
/// </summary>
public static class SyncBenchmark
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(120);
    private const int WarmUpPairings = 20;

    public static async Task<int> RunAsync(int clients, int events)
    {
        Console.WriteLine($"clients: {clients}, events: {events}, machine: {Environment.ProcessorCount} cores");
        var dataDir = Path.Combine(Path.GetTempPath(), $"abpa3-bench-{Guid.NewGuid():N}");
        var nodePort = FreePort();
        using var node = Start(HostAssembly.Path,
            ["--data-dir", dataDir, "--bind", "127.0.0.1", "--http-port", nodePort.ToString(), "--remote-port", "0", "--plain-http"],
            new()
            {
                // The benchmark is one address pairing a thousand devices: lift the per-address limits for it.
                ["ABPA3__AUTH__PAIR_PERMITS"] = "1000000",
                ["ABPA3__AUTH__SOCKET_PERMITS"] = "1000000",
                ["ABPA3__HTTP__MAX_CONNECTIONS_PER_ADDRESS"] = "1000000",
                ["ABPA3__SYNC__MESSAGES_PER_SECOND"] = "1000000",
                ["ABPA3__SYNC__MESSAGE_BURST"] = "1000000",
            });
        try
        {
            await WaitForLineAsync(node, "ABPA3 node ready");
            var baseUri = new Uri($"http://127.0.0.1:{nodePort}/");
            using var http = new HttpClient { BaseAddress = baseUri };
            var owner = await SetUpOwnerAsync(http, dataDir);

            await PairAsync(http, owner, WarmUpPairings); // JIT and connection warm-up, not measured
            var (keys, pairingMs) = await PairAsync(http, owner, clients + 1);
            Console.WriteLine($"| QR pairing round trip ({clients + 1} pairings after {WarmUpPairings} warm-up) | p50 {Percentile(pairingMs, 50):F2} ms | p99 {Percentile(pairingMs, 99):F2} ms | max {pairingMs.Max():F2} ms |");

            var rssBefore = Rss(node.Id);
            var nodeRun = await FanOutAsync(new Uri($"ws://127.0.0.1:{nodePort}/ws"), keys[0], keys.Skip(1).Select(k => (string?)k).ToList(), events,
                subscribe: true, measureIdle: () => Rss(node.Id));
            var perSessionKb = (nodeRun.IdleRssMb - rssBefore) * 1024 / clients;

            var barePort = FreePort();
            using var bare = Start(Environment.ProcessPath!, [typeof(SyncBenchmark).Assembly.Location, "bare-server", barePort.ToString()], new(),
                useDotnet: false);
            FanOutResult bareRun;
            try
            {
                await WaitForLineAsync(bare, "bare server ready");
                bareRun = await FanOutAsync(new Uri($"ws://127.0.0.1:{barePort}/ws"), null,
                    Enumerable.Repeat<string?>(null, clients).ToList(), events, subscribe: false, measureIdle: null);
            }
            finally
            {
                bare.Kill(); // whatever happened, the baseline server does not outlive the run
            }

            Console.WriteLine();
            Console.WriteLine("| fan-out | events/s delivered | p50 latency | p99 latency | ratio to bare |");
            Console.WriteLine("|---|---|---|---|---|");
            Console.WriteLine($"| bare Kestrel broadcast | {bareRun.EventsPerSecond:F0} | {bareRun.P50:F2} ms | {bareRun.P99:F2} ms | 1.00× |");
            Console.WriteLine($"| ABPA3 node (/ws, topic ui) | {nodeRun.EventsPerSecond:F0} | {nodeRun.P50:F2} ms | {nodeRun.P99:F2} ms | {nodeRun.EventsPerSecond / bareRun.EventsPerSecond:F2}× |");
            Console.WriteLine();
            Console.WriteLine($"| memory per idle session | {perSessionKb:F1} KB | node RSS {rssBefore:F0} MB → {nodeRun.IdleRssMb:F0} MB with {clients} sessions |");
            return 0;
        }
        finally
        {
            Signal.Terminate(node.Id);
            await node.WaitForExitAsync();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private sealed record FanOutResult(double EventsPerSecond, double P50, double P99, double IdleRssMb);

    private static async Task<FanOutResult> FanOutAsync(Uri uri, string? publisherKey, List<string?> receiverKeys, int events,
        bool subscribe, Func<double>? measureIdle)
    {
        var latencies = new List<double>[receiverKeys.Count];
        var received = 0L;
        var lastDelivery = 0L;
        var allDelivered = new TaskCompletionSource();
        var expected = (long)receiverKeys.Count * events;
        var sockets = new List<ClientWebSocket>();
        var loops = new List<Task>();
        for (var i = 0; i < receiverKeys.Count; i++)
        {
            var socket = await ConnectAsync(uri, receiverKeys[i]);
            sockets.Add(socket);
            if (subscribe)
            {
                await ReceiveJsonAsync(socket); // welcome
                await SendAsync(socket, new { type = "subscribe", topics = new[] { "ui" } });
            }
            var mine = latencies[i] = new List<double>(events);
            loops.Add(Task.Run(async () =>
            {
                var buffer = new byte[8192];
                while (socket.State == WebSocketState.Open)
                {
                    WebSocketReceiveResult result;
                    try
                    {
                        result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    }
                    catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
                    {
                        return; // aborted at the end of the run
                    }
                    if (result.MessageType == WebSocketMessageType.Close)
                        return;
                    var now = Stopwatch.GetTimestamp();
                    using var document = JsonDocument.Parse(buffer.AsMemory(0, result.Count));
                    if (!document.RootElement.TryGetProperty("data", out var data) || !data.TryGetProperty("t", out var sent))
                        continue;
                    mine.Add(Stopwatch.GetElapsedTime(sent.GetInt64(), now).TotalMilliseconds);
                    Volatile.Write(ref lastDelivery, now);
                    if (Interlocked.Increment(ref received) == expected)
                        allDelivered.TrySetResult();
                }
            }));
        }
        await Task.Delay(TimeSpan.FromSeconds(3)); // every subscription registered, memory settled
        var idleRss = measureIdle?.Invoke() ?? 0;

        var publisher = await ConnectAsync(uri, publisherKey);
        if (subscribe)
            await ReceiveJsonAsync(publisher); // welcome
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < events; i++)
        {
            await SendAsync(publisher, new { type = "publish", topic = "ui", id = $"e{i}", data = new { t = Stopwatch.GetTimestamp(), i } });
            while ((await ReceiveJsonAsync(publisher))?["type"]?.GetValue<string>() != "ack") { }
        }
        if (await Task.WhenAny(allDelivered.Task, Task.Delay(DeliveryTimeout)) != allDelivered.Task)
            Console.WriteLine($"warning: only {received} of {expected} deliveries arrived");
        var seconds = Stopwatch.GetElapsedTime(started, Volatile.Read(ref lastDelivery)).TotalSeconds;

        foreach (var socket in sockets.Append(publisher))
            socket.Abort();
        await Task.WhenAll(loops);
        var all = latencies.SelectMany(l => l).ToList();
        return new FanOutResult(received / seconds, Percentile(all, 50), Percentile(all, 99), idleRss);
    }

    private static async Task<ClientWebSocket> ConnectAsync(Uri uri, string? deviceKey)
    {
        var socket = new ClientWebSocket();
        if (deviceKey is not null)
            socket.Options.SetRequestHeader("Authorization", "Device " + deviceKey);
        await socket.ConnectAsync(uri, CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, object message) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<JsonObject?> ReceiveJsonAsync(ClientWebSocket socket)
    {
        var buffer = new byte[8192];
        var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
        return result.MessageType == WebSocketMessageType.Close ? null : JsonNode.Parse(buffer.AsSpan(0, result.Count))!.AsObject();
    }

    private static async Task<string> SetUpOwnerAsync(HttpClient http, string dataDir)
    {
        var code = (await File.ReadAllTextAsync(Path.Combine(dataDir, "setup-code.txt"))).Trim();
        (await http.PostAsJsonAsync("/api/auth/setup", new { username = "owner", password = "benchmark password", setup_code = code })).EnsureSuccessStatusCode();
        var login = await (await http.PostAsJsonAsync("/api/auth/login", new { username = "owner", password = "benchmark password" }))
            .Content.ReadFromJsonAsync<JsonObject>();
        var token = login!["access_token"]!.GetValue<string>();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return token;
    }

    /// <summary>Each pairing is the whole round trip: a new QR code, then <c>POST /api/pair</c> with its token.</summary>
    private static async Task<(List<string> Keys, List<double> Milliseconds)> PairAsync(HttpClient http, string owner, int count)
    {
        var keys = new List<string>(count);
        var times = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var qr = await (await http.PostAsJsonAsync("/api/pairing/qr", new { })).Content.ReadFromJsonAsync<JsonObject>();
            var token = qr!["payload"]!["pairToken"]!.GetValue<string>();
            using var pair = new HttpRequestMessage(HttpMethod.Post, "/api/pair")
            {
                Content = JsonContent.Create(new { pairToken = token, deviceInfo = new { name = $"Bench {i}", type = "bench" } }),
            };
            var paired = await (await http.SendAsync(pair)).Content.ReadFromJsonAsync<JsonObject>();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            keys.Add(paired!["deviceKey"]!.GetValue<string>());
        }
        return (keys, times);
    }

    private static double Percentile(List<double> values, int percentile)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1)];
    }

    private static double Rss(int pid) =>
        double.Parse(File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmRSS:")).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;

    private static Process Start(string program, IEnumerable<string> args, Dictionary<string, string> environment, bool useDotnet = true)
    {
        var start = new ProcessStartInfo(useDotnet ? "dotnet" : program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (useDotnet)
            start.ArgumentList.Add(program);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment)
            start.Environment[key] = value;
        return Process.Start(start)!;
    }

    private static async Task WaitForLineAsync(Process process, string prefix)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                _ = process.StandardOutput.ReadToEndAsync();
                _ = process.StandardError.ReadToEndAsync();
                return;
            }
        throw new InvalidOperationException($"'{prefix}' never came: {await process.StandardError.ReadToEndAsync()}");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
