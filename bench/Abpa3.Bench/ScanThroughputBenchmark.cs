using System.Diagnostics;
using Abpa3.Actors.Sensor;

namespace Abpa3.Bench;

/// <summary>
/// Scan throughput against the number of sensors. One manager and up to 16 sensors, each the Host in its own
/// process, paired over HTTPS. Each measured scan goes to the first N sensors (1, 2, 4, 8, 16); the others idle.
/// Timed: from <c>POST /api/scans</c> to the <c>completed</c> event on the manager's <c>/ws</c> (scans topic).
/// Throughput is the assembled result's bytes (one byte per sample) per second of that time, and segments per
/// second; every result is checked byte for byte against the simulated driver.
/// <list type="bullet">
/// <item><b>throttled</b>: each sensor reads at a fixed <c>rows_per_second</c>, so the sensors' own rate is the
/// limit and the ideal is linear in N (the baseline is N = 1 of the same run);</item>
/// <item><b>unthrottled</b>: <c>rows_per_second</c> 100,000 (the maximum): what the mesh itself can carry.</item>
/// </list>
/// Trials interleave the sensor counts (1, 2, 4, 8, 16, 1, 2, …) so a change in the machine's load hits every
/// count alike. CPU: the nodes' own CPU time (<c>/proc/PID/stat</c>) over each scan, and the whole machine's busy
/// share (<c>/proc/stat</c>, other work on the machine included).
/// </summary>
public static class ScanThroughputBenchmark
{
    public sealed record Options(int Trials, int MaxSensors, int Width, int Height, int Segments, double Rate, int FastSegments, bool SkipThrottled, IReadOnlyList<int>? Counts = null);

    private sealed record Point(string Mode, int Sensors, double Seconds, double SamplesPerSecond, double SegmentsPerSecond,
        double NodeCores, double ManagerCores, double SensorCores, double MachineBusy, double Load, string Incidents);

    public static async Task<int> RunAsync(Options o)
    {
        var counts = (o.Counts ?? [1, 2, 4, 8, 16]).Where(n => n <= o.MaxSensors).ToList();
        if (o.Counts is null && !counts.Contains(o.MaxSensors))
            counts.Add(o.MaxSensors);
        var throttled = new ScanParameters(o.Width, o.Height, o.Segments, 7, o.Rate);
        var fast = new ScanParameters(o.Width, o.Height, o.FastSegments, 11, ScanParameters.MaxRowsPerSecond);
        foreach (var p in new[] { throttled, fast })
            if (!p.IsValid())
                throw new ArgumentException($"invalid scan parameters: {p}");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Memory()}, load average {ProcStats.LoadAverage():F2} at start");
        Console.WriteLine($"sensors: {string.Join(", ", counts)}; trials per point: {o.Trials}");
        Console.WriteLine($"throttled scan: {Describe(throttled)}; each sensor alone: {throttled.RowsPerSecond * throttled.Width:F0} samples/s, " +
                          $"ideal scan time with one sensor {throttled.Height / throttled.RowsPerSecond:F1} s");
        Console.WriteLine($"unthrottled scan: {Describe(fast)}");

        var started = Stopwatch.GetTimestamp();
        await using var mesh = await ScanMesh.StartAsync(o.MaxSensors);
        Console.WriteLine($"manager and {o.MaxSensors} sensors started and paired in {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s" +
                          (mesh.FailedStarts > 0 ? $" ({mesh.FailedStarts} fresh sensors failed to start and were replaced)" : ""));
        await using var socket = await MeshSocket.ConnectAsync(mesh.Manager.BaseUri, mesh.AccessToken, "scans", "devices");

        await Task.Delay(TimeSpan.FromSeconds(3));
        var idleMemory = MemoryOf(mesh);
        var idleCores = await IdleCoresAsync(mesh, TimeSpan.FromSeconds(5));
        Console.WriteLine($"idle mesh (1 manager + {o.MaxSensors} sensors, heartbeats only): {idleCores.Nodes:F2} cores of the nodes, machine {idleCores.Machine:P0} busy");

        // Warm-up (not timed): every sensor runs segments of both kinds once.
        await RunScanAsync(mesh, socket, "warm-up", throttled with { Height = Math.Min(throttled.Height, 2 * o.MaxSensors * (throttled.Height / throttled.Segments)), Segments = 2 * o.MaxSensors, RowsPerSecond = ScanParameters.MaxRowsPerSecond }, o.MaxSensors);

        var points = new List<Point>();
        foreach (var (mode, p) in o.SkipThrottled ? [("unthrottled", fast)] : new[] { ("throttled", throttled), ("unthrottled", fast) })
            for (var trial = 1; trial <= o.Trials; trial++)
                foreach (var n in counts)
                {
                    var point = await RunScanAsync(mesh, socket, mode, p, n);
                    points.Add(point);
                    Console.WriteLine($"{mode} trial {trial}, {n,2} sensors: {point.Seconds,6:F2} s, {point.SamplesPerSecond,9:N0} samples/s, " +
                                      $"{point.SegmentsPerSecond,6:F1} segments/s; CPU: nodes {point.NodeCores:F2} cores (manager {point.ManagerCores:F2}, " +
                                      $"sensors {point.SensorCores:F2}), machine {point.MachineBusy:P0} busy, load {point.Load:F1}{point.Incidents}");
                }

        var afterMemory = MemoryOf(mesh);
        var idleAfter = await IdleCoresAsync(mesh, TimeSpan.FromSeconds(10));
        Console.WriteLine($"idle mesh after the scans (10 s): {idleAfter.Nodes:F2} cores of the nodes ({idleAfter.Nodes / (o.MaxSensors + 1) * 1000:F0} ms of CPU per second per node), machine {idleAfter.Machine:P0} busy");
        Console.WriteLine();
        foreach (var mode in points.Select(p => p.Mode).Distinct())
        {
            var p = mode == "throttled" ? throttled : fast;
            Console.WriteLine($"### {mode}: {Describe(p)}");
            Console.WriteLine();
            Console.WriteLine($"| sensors | scan time (median) | samples/s (median) | min – max samples/s | segments/s | speedup vs {counts[0]} | efficiency (speedup/(N/{counts[0]})) | CPU of the nodes, cores (manager / sensors) | machine busy |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
            var baseline = Bench.Median(points.Where(x => x.Mode == mode && x.Sensors == counts[0]).Select(x => x.SamplesPerSecond).ToList());
            foreach (var n in counts)
            {
                var rows = points.Where(x => x.Mode == mode && x.Sensors == n).ToList();
                var rate = Bench.Median(rows.Select(x => x.SamplesPerSecond).ToList());
                var speedup = rate / baseline;
                Console.WriteLine($"| {n} | {Bench.Median(rows.Select(x => x.Seconds).ToList()):F2} s | {rate:N0} | {rows.Min(x => x.SamplesPerSecond):N0} – {rows.Max(x => x.SamplesPerSecond):N0} | " +
                                  $"{Bench.Median(rows.Select(x => x.SegmentsPerSecond).ToList()):F1} | {speedup:F2}× | {speedup * counts[0] / n:F2} | " +
                                  $"{Bench.Median(rows.Select(x => x.NodeCores).ToList()):F2} ({Bench.Median(rows.Select(x => x.ManagerCores).ToList()):F2} / {Bench.Median(rows.Select(x => x.SensorCores).ToList()):F2}) | " +
                                  $"{Bench.Median(rows.Select(x => x.MachineBusy).ToList()):P0} |");
            }
            Console.WriteLine();
        }
        Console.WriteLine("| memory | RSS | PSS | private |");
        Console.WriteLine("|---|---|---|---|");
        Console.WriteLine($"| manager, idle after pairing | {idleMemory.Manager.Rss:F0} MB | {idleMemory.Manager.Pss:F0} MB | {idleMemory.Manager.Private:F0} MB |");
        Console.WriteLine($"| manager, after the scans | {afterMemory.Manager.Rss:F0} MB | {afterMemory.Manager.Pss:F0} MB | {afterMemory.Manager.Private:F0} MB |");
        Console.WriteLine($"| sensor (median of {o.MaxSensors}), idle after pairing | {Bench.Median(idleMemory.Sensors.Select(s => s.Rss).ToList()):F0} MB | {Bench.Median(idleMemory.Sensors.Select(s => s.Pss).ToList()):F0} MB | {Bench.Median(idleMemory.Sensors.Select(s => s.Private).ToList()):F0} MB |");
        Console.WriteLine($"| sensor (median of {o.MaxSensors}), after the scans | {Bench.Median(afterMemory.Sensors.Select(s => s.Rss).ToList()):F0} MB | {Bench.Median(afterMemory.Sensors.Select(s => s.Pss).ToList()):F0} MB | {Bench.Median(afterMemory.Sensors.Select(s => s.Private).ToList()):F0} MB |");
        Console.WriteLine($"| sensor, largest after the scans | {afterMemory.Sensors.Max(s => s.Rss):F0} MB | {afterMemory.Sensors.Max(s => s.Pss):F0} MB | {afterMemory.Sensors.Max(s => s.Private):F0} MB |");
        Console.WriteLine($"| all {o.MaxSensors + 1} nodes together, after the scans | {afterMemory.Sensors.Sum(s => s.Rss) + afterMemory.Manager.Rss:F0} MB | {afterMemory.Sensors.Sum(s => s.Pss) + afterMemory.Manager.Pss:F0} MB | |");
        Console.WriteLine();
        Console.WriteLine($"load average {ProcStats.LoadAverage():F2} at the end; {Memory()}; whole run {Stopwatch.GetElapsedTime(started).TotalMinutes:F1} min");
        return 0;
    }

    private static string Describe(ScanParameters p) =>
        $"{p.Width}×{p.Height} samples ({p.TotalBytes / 1024.0:N0} KiB), {p.Segments} segments of {p.Height / p.Segments} rows ({p.SegmentBytes(0) / 1024.0:N0} KiB), rows_per_second {p.RowsPerSecond:N0}";

    private static async Task<Point> RunScanAsync(ScanMesh mesh, MeshSocket socket, string mode, ScanParameters p, int sensors)
    {
        var used = mesh.Sensors.Take(sensors).Select(s => s.Process!.Id).ToList();
        var manager = mesh.Manager.Process!.Id;
        var all = mesh.ProcessIds().ToList();
        var expectedSeconds = p.Height / p.RowsPerSecond / sensors;
        var timeout = TimeSpan.FromSeconds(expectedSeconds * 4 + 60 + p.Segments * 0.2);

        var nodes0 = mesh.Sensors.Take(sensors).Prepend(mesh.Manager).Select(n => (Node: n, Length: n.Process!.Output.Length)).ToList();
        var mark = socket.Mark();
        var machineBefore = ChildProcess.MachineCpu();
        var nodesBefore = ProcStats.CpuTime(all);
        var managerBefore = ChildProcess.CpuTime(manager);
        var sensorsBefore = ProcStats.CpuTime(used);
        var start = Stopwatch.GetTimestamp();
        var scanId = await mesh.StartScanAsync(p, mesh.SensorIds.Take(sensors));
        var completed = await socket.WaitForAsync(mark, e => e.Topic == "scans" && e.Text("scan_id") == scanId && e.Text("change") == "completed",
            timeout, $"scan {scanId} ({mode}, {sensors} sensors) completed");
        var machineAfter = ChildProcess.MachineCpu();
        var nodes = (ProcStats.CpuTime(all) - nodesBefore).TotalSeconds;
        var managerCpu = (ChildProcess.CpuTime(manager) - managerBefore).TotalSeconds;
        var sensorCpu = (ProcStats.CpuTime(used) - sensorsBefore).TotalSeconds;
        var seconds = Stopwatch.GetElapsedTime(start, completed.At).TotalSeconds;
        var wall = Stopwatch.GetElapsedTime(start).TotalSeconds; // CPU was read a little after the event

        var incidents = Incidents(socket, mark, scanId, start, completed.At);
        if (incidents.Length > 0)
            foreach (var (node, length) in nodes0)
                if (node.Process!.Output[length..].Trim() is { Length: > 0 } said)
                    Console.WriteLine($"  {(node == mesh.Manager ? "manager" : "sensor " + node.DeviceId)} said during the scan:\n    {said.Replace("\n", "\n    ")}");
        var data = await mesh.GetScanDataAsync(scanId);
        if (ScanMesh.Compare(data, ScanMesh.Expected(p)) is { } wrong)
            throw new InvalidOperationException($"scan {scanId} ({mode}, {sensors} sensors) completed with a wrong result: {wrong}");
        var machineBusy = (machineAfter.Busy - machineBefore.Busy) / (double)Math.Max(1, machineAfter.Total - machineBefore.Total);
        return new Point(mode, sensors, seconds, p.TotalBytes / seconds, p.Segments / seconds,
            nodes / wall, managerCpu / wall, sensorCpu / wall, machineBusy, ProcStats.LoadAverage(), incidents);
    }

    /// <summary>
    /// What else happened during the scan, from the manager's events: peers it announced offline, segments it moved
    /// or left waiting, and the longest silence between two finished segments. Empty when nothing did.
    /// </summary>
    private static string Incidents(MeshSocket socket, int mark, string scanId, long start, long end)
    {
        var events = socket.Since(mark, e => e.At <= end);
        var offline = events.Where(e => e.Topic == "devices" && e.Text("kind") == "peer" && e.Text("change") == "offline").Select(e => e.Text("device_id")).ToList();
        var ofScan = events.Where(e => e.Topic == "scans" && e.Text("scan_id") == scanId).ToList();
        int Count(string change) => ofScan.Count(e => e.Text("change") == change);
        var times = ofScan.Where(e => e.Text("change") == "segment").Select(e => e.At).Prepend(start).ToList();
        var gap = times.Zip(times.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b).TotalSeconds).DefaultIfEmpty(0).Max();
        var parts = new List<string>();
        if (offline.Count > 0)
            parts.Add($"{offline.Count} offline announcements ({string.Join(", ", offline.Distinct())})");
        if (Count("reassigned") + Count("unassigned") + Count("paused") > 0)
            parts.Add($"{Count("reassigned")} reassigned, {Count("unassigned")} unassigned, {Count("paused")} paused");
        parts.Add($"longest gap between finished segments {gap:F2} s");
        return offline.Count > 0 || parts.Count > 1 || gap > 3 ? "; INCIDENT: " + string.Join("; ", parts) : "";
    }

    private static async Task<(double Nodes, double Machine)> IdleCoresAsync(ScanMesh mesh, TimeSpan period)
    {
        var pids = mesh.ProcessIds().ToList();
        var machineBefore = ChildProcess.MachineCpu();
        var before = ProcStats.CpuTime(pids);
        await Task.Delay(period);
        var machineAfter = ChildProcess.MachineCpu();
        return ((ProcStats.CpuTime(pids) - before).TotalSeconds / period.TotalSeconds,
            (machineAfter.Busy - machineBefore.Busy) / (double)Math.Max(1, machineAfter.Total - machineBefore.Total));
    }

    private sealed record ProcessMemory(double Rss, double Pss, double Private);

    private static (ProcessMemory Manager, List<ProcessMemory> Sensors) MemoryOf(ScanMesh mesh)
    {
        static ProcessMemory Of(NodeInstance node) =>
            new(ProcStats.RssMb(node.Process!.Id), ProcStats.PssMb(node.Process.Id), ProcStats.PrivateMb(node.Process.Id));
        return (Of(mesh.Manager), mesh.Sensors.Select(Of).ToList());
    }

    private static string Memory()
    {
        var lines = File.ReadLines("/proc/meminfo").ToList();
        double Gib(string field) => long.Parse(lines.First(l => l.StartsWith(field, StringComparison.Ordinal))[field.Length..].Trim().Split(' ')[0]) / 1024.0 / 1024.0;
        return $"{Gib("MemTotal:"):F1} GiB memory ({Gib("MemAvailable:"):F1} GiB available)";
    }
}
