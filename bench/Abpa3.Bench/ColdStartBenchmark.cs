using System.Diagnostics;

namespace Abpa3.Bench;

/// <summary>
/// Node cold start: process start → first 200 from <c>/healthz</c> over HTTPS, on a fresh data
/// directory (first boot: identity, certificate, journal tables) and on an existing one (restart);
/// then the resident memory of the idle node and the CPU it spends idle (unpaired, no clients) over 10 s. Baseline in the same run: the same runtime starting
/// the same program to print <c>--help</c> and exit, which is the floor no node start can beat here.
/// </summary>
public static class ColdStartBenchmark
{
    private static readonly TimeSpan IdleSettle = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan IdleCpuWindow = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(int runs)
    {
        var host = HostAssembly.Path;
        Console.WriteLine($"node: {host}");
        Console.WriteLine($"runs: {runs}, machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}");
        var warmup = Path.Combine(Path.GetTempPath(), $"abpa3-bench-warmup-{Guid.NewGuid():N}");
        _ = await MeasureStartAsync(host, warmup); // disk cache
        Directory.Delete(warmup, recursive: true);

        var baseline = new List<double>();
        var firstBoot = new List<double>();
        var restart = new List<double>();
        var idleRss = new List<double>();
        var idleAnon = new List<double>();
        var idleCpu = new List<double>();
        for (var run = 0; run < runs; run++)
        {
            baseline.Add(await MeasureHelpAsync(host));
            var dataDir = Path.Combine(Path.GetTempPath(), $"abpa3-bench-{Guid.NewGuid():N}");
            try
            {
                firstBoot.Add((await MeasureStartAsync(host, dataDir)).ReadyMs);
                var (readyMs, rssMb, anonMb, cpuMsPerSecond) = await MeasureStartAsync(host, dataDir, measureIdle: true);
                restart.Add(readyMs);
                idleRss.Add(rssMb);
                idleAnon.Add(anonMb);
                idleCpu.Add(cpuMsPerSecond);
            }
            finally
            {
                Directory.Delete(dataDir, recursive: true);
            }
            Console.WriteLine($"run {run + 1}: baseline {baseline[^1]:F0} ms, first boot {firstBoot[^1]:F0} ms, restart {restart[^1]:F0} ms, idle RSS {idleRss[^1]:F1} MB (private {idleAnon[^1]:F1} MB), idle CPU {idleCpu[^1]:F1} ms/s");
        }

        Console.WriteLine();
        Console.WriteLine("| measure | median | min | max | ratio to baseline (median) |");
        Console.WriteLine("|---|---|---|---|---|");
        Row("runtime baseline (`--help`)", baseline, "ms", Median(baseline));
        Row("ready, first boot", firstBoot, "ms", Median(baseline));
        Row("ready, restart", restart, "ms", Median(baseline));
        Row("idle RSS after restart", idleRss, "MB", null);
        Row("idle private (anonymous) memory", idleAnon, "MB", null);
        Row("idle CPU (ms of CPU per second)", idleCpu, "ms/s", null);
        return 0;
    }

    private static void Row(string name, List<double> values, string unit, double? baseline) =>
        Console.WriteLine($"| {name} | {Median(values):F0} {unit} | {values.Min():F0} {unit} | {values.Max():F0} {unit} | " +
                          (baseline is { } b ? $"{Median(values) / b:F2}×" : "–") + " |");

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static async Task<double> MeasureHelpAsync(string host)
    {
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(Start(host, ["--help"]))!;
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return clock.Elapsed.TotalMilliseconds;
    }

    private static async Task<(double ReadyMs, double RssMb, double AnonMb, double IdleCpuMsPerSecond)> MeasureStartAsync(string host, string dataDir, bool measureIdle = false)
    {
        var port = FreePort();
        using var http = new HttpClient(new HttpClientHandler
        {
            // The node just started on loopback has a self-signed certificate; pinning is tested, not timed, elsewhere.
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate is not null,
        }) { Timeout = TimeSpan.FromSeconds(2) };
        var url = $"https://127.0.0.1:{port}/healthz";

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(Start(host,
            ["--data-dir", dataDir, "--bind", "127.0.0.1", "--http-port", port.ToString(), "--remote-port", "0"]))!;
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        double readyMs;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    readyMs = clock.Elapsed.TotalMilliseconds;
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(60))
                throw new InvalidOperationException("the node did not become ready");
            await Task.Delay(5);
        }

        var (rssMb, anonMb, cpu) = (0.0, 0.0, 0.0);
        if (measureIdle)
        {
            await Task.Delay(IdleSettle);
            (rssMb, anonMb) = (StatusMegabytes(process.Id, "VmRSS:"), StatusMegabytes(process.Id, "RssAnon:"));
            var before = ChildProcess.CpuTime(process.Id);
            await Task.Delay(IdleCpuWindow);
            cpu = (ChildProcess.CpuTime(process.Id) - before).TotalMilliseconds / IdleCpuWindow.TotalSeconds;
        }
        Signal.Terminate(process.Id);
        await process.WaitForExitAsync();
        return (readyMs, rssMb, anonMb, cpu);
    }

    private static ProcessStartInfo Start(string host, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(host);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        return start;
    }

    /// <summary>A memory line of /proc/PID/status (VmRSS: everything resident; RssAnon: private memory only).</summary>
    private static double StatusMegabytes(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field));
        return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
