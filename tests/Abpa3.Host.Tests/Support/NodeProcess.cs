using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Abpa3.Host.Tests.Support;

/// <summary>The two ports a node listens on, fixed up front so a restarted node comes back where it was.</summary>
public sealed record NodePorts(int Http, int Remote)
{
    /// <summary>
    /// Two distinct loopback ports that are free now, chosen below the kernel's ephemeral range. Between now and the node
    /// binding them (or while the node is down for a restart) another process could take one; in the ephemeral range that
    /// happened on a busy machine (every outgoing connection and every port-0 listener draws from it), below it only
    /// another process choosing the same port explicitly can. No port is handed out twice in one test run: the
    /// devices of a test are all given their ports before the first of them binds, and two of them once drew the same one.
    /// </summary>
    public static NodePorts Free() => new(FreePort(), FreePort());

    private static readonly HashSet<int> HandedOut = [];

    private static int FreePort()
    {
        var ephemeralStart = EphemeralRangeStart();
        var low = Math.Max(10_000, ephemeralStart - 12_000);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = Random.Shared.Next(low, ephemeralStart);
            lock (HandedOut)
                if (!HandedOut.Add(port))
                    continue;
            var listener = new TcpListener(IPAddress.Loopback, port);
            try
            {
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // taken: another one
            }
            finally
            {
                listener.Stop();
            }
        }
        throw new InvalidOperationException($"no free port found in {low}–{ephemeralStart - 1}");
    }

    /// <summary>The first port of Linux's ephemeral range (32768 unless configured otherwise).</summary>
    private static int EphemeralRangeStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) && int.TryParse(File.ReadAllText(range).Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[0], out var start)
               && start > 11_000
            ? start
            : 32768;
    }
}

/// <summary>
/// The built node (<c>Abpa3.Host.dll</c>) as a separate process, as an owner runs it: options on the
/// command line, output read line by line, stopped by a signal.
/// </summary>
public sealed partial class NodeProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly TaskCompletionSource<Match> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private NodeProcess(Process process, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        _process = process;
        Arguments = args;
        EnvironmentVariables = environment;
    }

    /// <summary>The command line and the <c>ABPA3__</c> environment it was started with, so it can be started again the same way.</summary>
    public IReadOnlyList<string> Arguments { get; }
    public IReadOnlyDictionary<string, string>? EnvironmentVariables { get; }

    public IReadOnlyCollection<string> Output => _output;
    public int Pid => _process.Id;
    public Uri HttpUrl { get; private set; } = null!;
    public string DeviceId { get; private set; } = "";
    public string RemoteAddress { get; private set; } = "";
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts a node and returns once it printed its ready line.</summary>
    public static async Task<NodeProcess> StartAsync(string dataDir, IEnumerable<string>? extraArgs = null,
        IReadOnlyDictionary<string, string>? environment = null) =>
        await StartAsync(dataDir, new NodePorts(0, 0), extraArgs, environment);

    /// <summary>Starts a node on the given ports (0 = any) and returns once it printed its ready line.</summary>
    public static async Task<NodeProcess> StartAsync(string dataDir, NodePorts ports, IEnumerable<string>? extraArgs = null,
        IReadOnlyDictionary<string, string>? environment = null) =>
        await WhenReadyAsync(Launch(["--data-dir", dataDir, "--bind", "127.0.0.1", "--http-port", ports.Http.ToString(),
            "--remote-port", ports.Remote.ToString(), .. extraArgs ?? []], environment));

    /// <summary>
    /// Starts this node again (after it exited or was killed) with the same command line, so the same data directory
    /// and ports; with <paramref name="environment"/> instead of the original environment when given.
    /// </summary>
    public async Task<NodeProcess> RestartAsync(IReadOnlyDictionary<string, string>? environment = null)
    {
        if (!_process.HasExited)
            throw new InvalidOperationException($"node {Pid} is still running; stop it before starting it again");
        return await WhenReadyAsync(Launch(Arguments, environment ?? EnvironmentVariables));
    }

    private static async Task<NodeProcess> WhenReadyAsync(NodeProcess node)
    {
        try
        {
            var ready = await node._ready.Task.WaitAsync(ReadyTimeout);
            node.DeviceId = ready.Groups["id"].Value;
            node.HttpUrl = new Uri(ready.Groups["http"].Value);
            node.RemoteAddress = ready.Groups["remote"].Value;
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the node with exactly these arguments (for option errors and --help).</summary>
    public static NodeProcess Launch(IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var args = arguments.ToList();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(HostAssembly);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("ABPA3__", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
            start.Environment[key] = value;

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var node = new NodeProcess(process, args, environment);
        process.OutputDataReceived += (_, e) => node.OnLine(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => node.OnLine(e.Data, isError: true);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.Exited += (_, _) => node._ready.TrySetException(new InvalidOperationException(
            "the node exited before it was ready:\n" + string.Join('\n', node._output)));
        return node;
    }

    private void OnLine(string? line, bool isError)
    {
        if (line is null)
            return;
        _output.Enqueue(isError ? "[stderr] " + line : line);
        if (!isError && ReadyLine().Match(line) is { Success: true } match)
            _ready.TrySetResult(match);
    }

    /// <summary>Waits for a line of standard output that <paramref name="match"/> accepts; fails if the process exits first.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (_output.FirstOrDefault(l => !l.StartsWith("[stderr]") && match(l)) is { } line)
                return line;
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                if (_process.HasExited)
                    _process.WaitForExit(); // drains the redirected output
                throw new InvalidOperationException(
                    (_process.HasExited ? $"the process exited ({_process.ExitCode})" : $"nothing matched within {timeout}")
                    + " before the awaited line:\n" + string.Join('\n', _output));
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Sends SIGTERM, as a service manager does, and waits for the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        Signal(SIGTERM);
        return await WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>kill -9 (SIGKILL, sent with libc <c>kill</c>): no chance to flush anything. Returns once the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
            Signal(SIGKILL);
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGSTOP: the process is frozen (no thread runs, sockets stay open), as a suspended laptop or a debugger would.</summary>
    public void Suspend() => Signal(SIGSTOP);

    /// <summary>SIGCONT: a suspended process runs on from where it was.</summary>
    public void Resume() => Signal(SIGCONT);

    private void Signal(int signal)
    {
        // `dotnet Abpa3.Host.dll` runs the node in the muxer's own process (no child), so this pid is the node's.
        if (kill(_process.Id, signal) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (!(errno == ESRCH && _process.HasExited))
                throw new InvalidOperationException($"kill({_process.Id}, {signal}) failed: errno {errno}");
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        _process.WaitForExit(); // drains the redirected output
        return _process.ExitCode;
    }

    /// <summary>Kills the node if it still runs (a suspended one too: SIGKILL needs no SIGCONT).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
            await KillAsync();
        _process.Dispose();
    }

    private static string HostAssembly { get; } = FindHostAssembly();

    private static string FindHostAssembly()
    {
        // The test assembly lives in tests/Abpa3.Host.Tests/bin/<Configuration>/<tfm>/; the node was built beside it.
        var testBin = new DirectoryInfo(AppContext.BaseDirectory);
        var framework = testBin.Name;
        var configuration = testBin.Parent!.Name;
        var root = testBin;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Abpa3.Mesh.sln")))
            root = root.Parent;
        if (root is null)
            throw new InvalidOperationException("Abpa3.Mesh.sln not found above " + AppContext.BaseDirectory);
        var path = Path.Combine(root.FullName, "src", "Abpa3.Host", "bin", configuration, framework, "Abpa3.Host.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException("build the solution first", path);
    }

    private const int SIGKILL = 9;
    private const int SIGTERM = 15;
    // Linux numbering (x86-64 and arm64).
    private const int SIGCONT = 18;
    private const int SIGSTOP = 19;
    private const int ESRCH = 3;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    [GeneratedRegex(@"^ABPA3 node ready: device_id=(?<id>\S+) http=(?<http>\S+) remote=(?<remote>\S+)$")]
    private static partial Regex ReadyLine();
}
