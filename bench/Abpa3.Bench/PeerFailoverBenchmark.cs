using System.Diagnostics;
using System.Net.Sockets;

namespace Abpa3.Bench;

/// <summary>
/// How fast a manager notices a sensor die and come back. Both nodes are the Host in their own processes, paired
/// over HTTPS; the sensor keeps its data directory and fixed ports across restarts. Each trial:
/// (a) <c>kill -9</c> the sensor, then poll <c>GET /api/devices</c> on the manager every 20 ms until the sensor
/// is listed offline; (b) start the sensor again on the same data directory and ports, and from its ready line
/// poll until it is listed online.
/// Floors measured in the same trials: (a) kill → the sensor's port refusing connections (the operating system
/// knows at once; the node has only its heartbeats to go by), (b) ready line → the sensor's own
/// <c>/healthz</c> answering 200 (the device is reachable at all).
/// </summary>
public static class PeerFailoverBenchmark
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    public static async Task<int> RunAsync(int trials)
    {
        Console.WriteLine($"trials: {trials}, polling every {Poll.TotalMilliseconds:0} ms, machine: {Environment.ProcessorCount} cores");
        await using var manager = NodeInstance.Fresh("manager");
        await manager.StartAsync();
        using var api = manager.Api();
        await api.ClaimAsync(manager.SetupCode!);
        await using var sensor = NodeInstance.Fresh("sensor");
        await sensor.StartAsync();
        var sensorId = await api.PairAsync(sensor.HttpPort, sensor.SetupCode!);
        await api.WaitForOnlineAsync(sensorId, true, Poll, Timeout);
        Console.WriteLine($"manager {manager.DeviceId} (http {manager.HttpPort}), sensor {sensorId} (http {sensor.HttpPort}, remote {sensor.RemotePort}), paired and online");
        using var sensorHttp = Bench.NodeClient(sensor.BaseUri);
        sensorHttp.Timeout = TimeSpan.FromSeconds(2);

        var offlineMs = new List<double>();
        var portClosedMs = new List<double>();
        var onlineMs = new List<double>();
        var healthyMs = new List<double>();
        for (var trial = 1; trial <= trials; trial++)
        {
            // Steady state first, killed at a random phase of the 200 ms heartbeat.
            await Task.Delay(TimeSpan.FromMilliseconds(1000 + Random.Shared.Next(200)));
            if (await api.IsOnlineAsync(sensorId) != true)
                throw new InvalidOperationException($"trial {trial}: the sensor is not online before the kill");

            var killed = Stopwatch.GetTimestamp();
            sensor.Process!.KillHard();
            var portClosed = Task.Run(() => WaitForPortClosedAsync(sensor.HttpPort, killed));
            var offline = await PollAsync(() => api.IsOnlineAsync(sensorId), false, killed);
            offlineMs.Add(offline);
            portClosedMs.Add(await portClosed);
            await sensor.Process.Process.WaitForExitAsync();

            await sensor.StartAsync(); // same data directory, same ports
            var ready = sensor.ReadyAt;
            var healthy = Task.Run(() => PollAsync(async () => await IsHealthyAsync(sensorHttp), true, ready));
            var online = await PollAsync(() => api.IsOnlineAsync(sensorId), true, ready);
            onlineMs.Add(online);
            healthyMs.Add(await healthy);
            Console.WriteLine($"trial {trial}: kill -9 → offline {offline:F0} ms (port closed {portClosedMs[^1]:F1} ms); " +
                              $"ready → online {online:F0} ms (ready → /healthz {healthyMs[^1]:F0} ms)");
        }

        Console.WriteLine();
        Console.WriteLine("| measure | median | p90 | min | max |");
        Console.WriteLine("|---|---|---|---|---|");
        Row("(a) kill -9 → manager lists the sensor offline", offlineMs);
        Row("    floor: kill -9 → the sensor's port refuses connections", portClosedMs);
        Row("(b) restarted sensor's ready line → manager lists it online", onlineMs);
        Row("    floor: ready line → the sensor's /healthz answers 200", healthyMs);
        return 0;
    }

    private static void Row(string name, List<double> values) =>
        Console.WriteLine($"| {name} | {Bench.Median(values):F0} ms | {Bench.Percentile(values, 90):F0} ms | {values.Min():F0} ms | {values.Max():F0} ms |");

    /// <summary>Polls every 20 ms until the answer is as wanted; ms from <paramref name="since"/> to the answer that said so.</summary>
    private static async Task<double> PollAsync(Func<Task<bool?>> ask, bool wanted, long since)
    {
        while (true)
        {
            var answer = await ask();
            var at = Stopwatch.GetTimestamp();
            if (answer == wanted)
                return Stopwatch.GetElapsedTime(since, at).TotalMilliseconds;
            if (Stopwatch.GetElapsedTime(since) > Timeout)
                throw new TimeoutException($"not {(wanted ? "online" : "offline")} after {Timeout.TotalSeconds} s");
            await Task.Delay(Poll);
        }
    }

    private static async Task<bool?> IsHealthyAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync("/healthz");
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static async Task<double> WaitForPortClosedAsync(int port, long since)
    {
        while (Stopwatch.GetElapsedTime(since) < Timeout)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            }
            catch (SocketException)
            {
                return Stopwatch.GetElapsedTime(since).TotalMilliseconds;
            }
            await Task.Delay(1);
        }
        throw new TimeoutException("the killed sensor's port still accepts connections");
    }
}
