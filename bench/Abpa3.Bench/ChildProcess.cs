using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace Abpa3.Bench;

/// <summary>
/// A process the benchmark started (a node, or this program in a helper role), with its stdout read line by
/// line as it comes, each line stamped with the moment it was read. Every child is killed when the benchmark
/// exits, however it exits, so no node outlives a failed run.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<ChildProcess, bool> Live = new();
    private readonly Channel<(string Line, long Timestamp)> _lines = Channel.CreateUnbounded<(string, long)>();
    private readonly StringBuilder _output = new();

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    private ChildProcess(Process process)
    {
        Process = process;
        Live[this] = true;
        _ = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                _lines.Writer.TryWrite((line, Stopwatch.GetTimestamp()));
                lock (_output)
                    _output.AppendLine(line);
            }
            _lines.Writer.TryComplete();
        });
        _ = Task.Run(async () =>
        {
            while (await process.StandardError.ReadLineAsync() is { } line)
                lock (_output)
                    _output.AppendLine("stderr: " + line);
        });
    }

    public Process Process { get; }

    public int Id => Process.Id;

    /// <summary>The node built beside this benchmark: <c>dotnet Abpa3.Host.dll args</c>.</summary>
    public static ChildProcess StartNode(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        Start("dotnet", [HostAssembly.Path, .. args], environment);

    /// <summary>This benchmark program in a helper role (a hidden subcommand), under the same runtime.</summary>
    public static ChildProcess StartSelf(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        Start("dotnet", [typeof(ChildProcess).Assembly.Location, .. args], environment);

    private static ChildProcess Start(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;
        return new ChildProcess(Process.Start(start)!);
    }

    /// <summary>The first line (from now on) that starts with the prefix, and the Stopwatch timestamp when it was read.</summary>
    public async Task<(string Line, long Timestamp)> WaitForLineAsync(string prefix, TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            while (await _lines.Reader.WaitToReadAsync(cancel.Token))
                while (_lines.Reader.TryRead(out var entry))
                    if (entry.Line.StartsWith(prefix, StringComparison.Ordinal))
                        return entry;
        }
        catch (OperationCanceledException) { }
        throw new InvalidOperationException($"'{prefix}' never came from process {Id}{(Process.HasExited ? $" (exited {Process.ExitCode})" : "")}: {Output}");
    }

    /// <summary>Everything the process has printed so far (stderr lines marked), for the message of a failed run.</summary>
    public string Output
    {
        get
        {
            lock (_output)
                return _output.ToString();
        }
    }

    /// <summary>kill -9: no shutdown, no flush, like a power cut.</summary>
    public void KillHard()
    {
        try
        {
            Process.Kill(entireProcessTree: false); // SIGKILL on Unix
        }
        catch (InvalidOperationException) { } // already gone
    }

    /// <summary>SIGTERM and wait for a clean exit; kill -9 if it takes longer than the timeout.</summary>
    public async Task StopAsync(TimeSpan? timeout = null)
    {
        if (!Process.HasExited)
        {
            Signal.Terminate(Process.Id);
            using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
            try
            {
                await Process.WaitForExitAsync(cancel.Token);
            }
            catch (OperationCanceledException)
            {
                KillHard();
            }
        }
        await Process.WaitForExitAsync();
    }

    /// <summary>Closes the child's standard input (helpers exit on it), waits a moment, then kills what is left.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!Process.HasExited)
        {
            try
            {
                Process.StandardInput.Close();
                await Process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException) { }
        }
        if (!Process.HasExited)
        {
            KillHard();
            await Process.WaitForExitAsync();
        }
        Live.TryRemove(this, out _);
        Process.Dispose();
    }

    /// <summary>CPU time (user + system) the process has used so far, from <c>/proc/PID/stat</c>.</summary>
    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of stat (utime, stime), counted from after the command name: indexes 11 and 12.
        var ticks = long.Parse(fields[11]) + long.Parse(fields[12]);
        return TimeSpan.FromSeconds(ticks / (double)ClockTicksPerSecond);
    }

    /// <summary>Busy and total CPU time of the whole machine so far (all cores), from <c>/proc/stat</c>, in clock ticks.</summary>
    public static (long Busy, long Total) MachineCpu()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8).Select(long.Parse).ToArray();
        var total = fields.Sum();
        return (total - fields[3] - fields[4], total); // idle and iowait are not busy
    }

    private const int ClockTicksPerSecond = 100; // USER_HZ, 100 on every Linux this runs on

    private static void KillAll()
    {
        foreach (var child in Live.Keys)
        {
            try
            {
                if (!child.Process.HasExited)
                    child.Process.Kill();
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
    }
}

/// <summary>Small shared helpers of the peer benchmarks.</summary>
public static class Bench
{
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string TempDir(string kind)
    {
        var path = Path.Combine(Path.GetTempPath(), $"abpa3-bench-{kind}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteDir(string path)
    {
        try
        {
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"warning: could not delete {path}: {e.Message}");
        }
    }

    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 50);

    /// <summary>Nearest-rank percentile (the median of an even count is the mean of the middle two).</summary>
    public static double Percentile(IReadOnlyCollection<double> values, int percentile)
    {
        if (values.Count == 0)
            return double.NaN;
        var sorted = values.Order().ToList();
        if (percentile == 50)
            return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
        return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    /// <summary>
    /// An HTTPS client for a node on loopback. Node certificates are self-signed; the benchmark accepts them
    /// (pinning is tested, not timed, elsewhere).
    /// </summary>
    public static HttpClient NodeClient(Uri baseAddress) =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null },
        })
        { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
}
