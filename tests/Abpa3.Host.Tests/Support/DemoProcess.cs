using System.Text.RegularExpressions;

namespace Abpa3.Host.Tests.Support;

/// <summary>
/// <c>Abpa3.Host demo</c> as a separate process, as a newcomer runs it, and what it printed: each node's
/// fields, the owner's credentials and the manager's device list.
/// </summary>
public sealed partial class DemoProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private DemoProcess(NodeProcess process) => Process = process;

    public NodeProcess Process { get; }
    public IReadOnlyCollection<string> Output => Process.Output;

    /// <summary>Fields printed per node (<c>manager</c>, <c>sensor-1</c>, <c>sensor-2</c>): name, role, url, device_id, cert_sha256, remote, state.</summary>
    public Dictionary<string, Dictionary<string, string>> Nodes { get; } = [];

    public string Username { get; private set; } = "";
    public string Password { get; private set; } = "";

    /// <summary>The manager's device list as printed: node label, device id, role, kind, online or offline.</summary>
    public List<(string Node, string DeviceId, string Role, string Kind, string Online)> Peers { get; } = [];

    public Uri ManagerUrl => new(Nodes["manager"]["url"]);

    /// <summary>The scan the demo ran, as printed; null when it printed none.</summary>
    public DemoScanOutput? Scan { get; private set; }

    /// <summary>Runs the demo on a free manager port and returns once it printed that it is ready.</summary>
    public static async Task<DemoProcess> StartAsync(string dataDir, params string[] extraArgs)
    {
        var demo = new DemoProcess(NodeProcess.Launch(["demo", "--data-dir", dataDir, "--http-port", "0", .. extraArgs]));
        await demo.Process.WaitForLineAsync(l => l.StartsWith("ABPA3 demo ready"), ReadyTimeout);
        demo.ReadSummary();
        return demo;
    }

    /// <summary>Runs the demo with exactly these arguments (for failures).</summary>
    public static DemoProcess Launch(IEnumerable<string> args) => new(NodeProcess.Launch(["demo", .. args]));

    private void ReadSummary()
    {
        Dictionary<string, string>? section = null;
        var inPeers = false;
        foreach (var line in Output.Where(l => !l.StartsWith("[stderr]")))
        {
            if (NodeHeader().Match(line) is { Success: true } node)
            {
                section = Nodes[node.Groups["key"].Value] = new Dictionary<string, string> { ["name"] = node.Groups["name"].Value };
                inPeers = false;
            }
            else if (line.StartsWith("owner login"))
                (section, inPeers) = (new Dictionary<string, string>(), false);
            else if (line.StartsWith("the manager's devices"))
                (section, inPeers) = (null, true);
            else if (inPeers && PeerLine().Match(line) is { Success: true } peer)
                Peers.Add((peer.Groups["node"].Value, peer.Groups["id"].Value, peer.Groups["role"].Value, peer.Groups["kind"].Value, peer.Groups["online"].Value));
            else if (section is not null && Field().Match(line) is { Success: true } field)
            {
                section[field.Groups["label"].Value] = field.Groups["value"].Value;
                if (field.Groups["label"].Value == "username")
                    Username = field.Groups["value"].Value;
                if (field.Groups["label"].Value == "password")
                    Password = field.Groups["value"].Value.Split(' ')[0];
            }
            else if (line.Length == 0)
                (section, inPeers) = (null, false);
        }
        ReadScan();
    }

    private void ReadScan()
    {
        var lines = Output.Where(l => !l.StartsWith("[stderr]")).ToList();
        var header = lines.FindIndex(l => ScanHeader().IsMatch(l));
        if (header < 0)
            return;
        var id = ScanHeader().Match(lines[header]).Groups["id"].Value;
        var progress = lines.Skip(header + 2).TakeWhile(l => l.StartsWith("  [")).Select(l => ProgressLine().Match(l)).ToList();
        var completed = lines.Select(l => CompletedLine().Match(l)).FirstOrDefault(m => m.Success && m.Groups["id"].Value == id);
        Scan = new DemoScanOutput(id, lines[header], lines[header + 1],
            progress.Select(m => m.Success
                ? new DemoScanOutput.Progress(int.Parse(m.Groups["done"].Value), int.Parse(m.Groups["total"].Value),
                    m.Groups["sensor"].Captures.Select((c, i) => (c.Value, int.Parse(m.Groups["by"].Captures[i].Value))).ToDictionary(),
                    m.Groups["change"].Value)
                : null).ToList(),
            completed is null ? null : int.Parse(completed.Groups["bytes"].Value),
            completed?.Groups["sha"].Value);
    }

    public async ValueTask DisposeAsync() => await Process.DisposeAsync();

    [GeneratedRegex(@"^(?<key>manager|sensor-\d)\s+(?<name>\S.*)$")]
    private static partial Regex NodeHeader();

    [GeneratedRegex(@"^  (?<label>[a-z_0-9]+)\s+(?<value>\S.*)$")]
    private static partial Regex Field();

    [GeneratedRegex(@"^scan (?<id>[0-9a-zA-Z_-]+) across ")]
    private static partial Regex ScanHeader();

    [GeneratedRegex(@"^  \[[#.]+\]\s+(?<done>\d+)/(?<total>\d+)\s+\d+%\s+(?:(?<sensor>sensor-\d) (?<by>\d+)/\d+\s+)+(?<change>\S.*)$")]
    private static partial Regex ProgressLine();

    [GeneratedRegex(@"^scan (?<id>\S+) completed: (?<bytes>\d+) bytes, matches the simulated driver \(sha256 (?<sha>[0-9a-f]{64})\)$")]
    private static partial Regex CompletedLine();

    [GeneratedRegex(@"^  (?<node>\S+)\s+(?<id>abpa3-\S+)\s+(?<role>\S+)\s+(?<kind>\S+)\s+(?<online>online|offline)")]
    private static partial Regex PeerLine();
}

/// <summary>
/// The demo's scan as printed: its header, one progress line per change (null for a line that does not parse),
/// and the completion line's byte count and SHA-256 when it said the result matched the simulated driver.
/// </summary>
public sealed record DemoScanOutput(string Id, string Header, string Source, IReadOnlyList<DemoScanOutput.Progress?> Lines, int? Bytes, string? Sha256)
{
    /// <summary>Segments done of the total, segments done per sensor, and the change in words.</summary>
    public sealed record Progress(int Done, int Total, IReadOnlyDictionary<string, int> DoneBy, string Change);
}
