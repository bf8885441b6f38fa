using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Abpa3.Actors.Sensor;
using Abpa3.Host.Tests.Support;
using Xunit.Abstractions;

namespace Abpa3.Host.Tests;

/// <summary>
/// <c>Abpa3.Host demo</c> as a process: three nodes set up through their HTTP APIs, kept across runs, and a scan
/// across the sensors followed on the console to a result that matches the simulated driver.
/// </summary>
public sealed class DemoCommandSpecs(ITestOutputHelper log) : IDisposable
{
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "abpa3-demo-" + Guid.NewGuid().ToString("N"));
    private string DemoDir => Path.Combine(_dataDir, "demo");

    public void Dispose()
    {
        if (Directory.Exists(_dataDir))
            Directory.Delete(_dataDir, recursive: true);
    }

    [Fact]
    public async Task Demo_pairs_two_sensors_through_the_api_scans_across_them_and_a_second_run_reuses_the_pairing()
    {
        var clock = Stopwatch.StartNew();
        Dictionary<string, Dictionary<string, string>> first;
        Dictionary<string, string> pairedAt;
        string firstScan;
        await using (var demo = await DemoProcess.StartAsync(_dataDir))
        using (Transcript(demo, "first run"))
        {
            log.WriteLine($"first run ready after {clock.Elapsed.TotalSeconds:0.0} s");
            first = demo.Nodes;
            Assert.Equal(["manager", "sensor-1", "sensor-2"], first.Keys.Order());
            foreach (var (key, node) in first)
            {
                Assert.Equal(key == "manager" ? "manager" : "sensor", node["role"]);
                Assert.Equal("paired", node["state"]);
                Assert.Matches("^abpa3-[0-9a-f]{12}$", node["device_id"]);
                Assert.Matches("^[0-9a-f]{64}$", node["cert_sha256"]);
                Assert.Matches(@"^akka\.ssl\.tcp://abpa3@127\.0\.0\.1:[1-9][0-9]*$", node["remote"]);
                Assert.Equal(("https", "127.0.0.1"), (new Uri(node["url"]).Scheme, new Uri(node["url"]).Host));
            }
            Assert.Contains(demo.Output, l => l.Contains("claimed the manager"));
            Assert.Contains(demo.Output, l => l.Contains("paired sensor-1 with the manager"));
            Assert.Contains(demo.Output, l => l.Contains("paired sensor-2 with the manager"));

            // The printed password is the stored one, readable by its owner only.
            var passwordFile = Path.Combine(DemoDir, "owner-password.txt");
            Assert.Equal(demo.Password, File.ReadAllText(passwordFile).Trim());
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passwordFile));
            Assert.Equal("owner", demo.Username);

            pairedAt = await AssertManagerSeesBothSensorsOnlineAsync(demo);
            firstScan = await AssertScanRanAcrossBothSensorsAndMatchedAsync(demo);
            // The sensors took the manager's owner account: the same login works on them.
            foreach (var sensor in new[] { "sensor-1", "sensor-2" })
            {
                using var https = new Https(new Uri(first[sensor]["url"]));
                Assert.False(string.IsNullOrEmpty(await https.LoginAsync(demo.Username, demo.Password)));
                Assert.Equal(first[sensor]["cert_sha256"], https.ServedCertSha256);
            }

            clock.Restart();
            Assert.Equal(0, await demo.Process.TerminateAsync());
            log.WriteLine($"first run stopped in {clock.Elapsed.TotalSeconds:0.0} s");
            AssertStoppedCleanly(demo);
        }

        clock.Restart();
        await using (var again = await DemoProcess.StartAsync(_dataDir))
        using (Transcript(again, "second run"))
        {
            log.WriteLine($"second run ready after {clock.Elapsed.TotalSeconds:0.0} s");
            foreach (var key in first.Keys)
                Assert.Equal((first[key]["device_id"], first[key]["cert_sha256"]), (again.Nodes[key]["device_id"], again.Nodes[key]["cert_sha256"]));
            Assert.DoesNotContain(again.Output, l => l.Contains("claimed the manager"));
            Assert.DoesNotContain(again.Output, l => l.Contains("pairing it again") || l.Contains("paired sensor-"));
            Assert.Contains(again.Output, l => l.Contains("sensor-1 is already paired"));
            Assert.Contains(again.Output, l => l.Contains("sensor-2 is already paired"));

            // Not paired again: the manager still holds the pairings of the first run.
            Assert.Equal(pairedAt, await AssertManagerSeesBothSensorsOnlineAsync(again));

            // The reused pairings carry a new scan; the manager keeps the first run's too.
            var secondScan = await AssertScanRanAcrossBothSensorsAndMatchedAsync(again);
            Assert.NotEqual(firstScan, secondScan);
            Assert.Equal(new[] { (firstScan, "completed"), (secondScan, "completed") }.Order(), (await ListScansAsync(again)).Order());

            Assert.Equal(0, await again.Process.TerminateAsync());
            AssertStoppedCleanly(again);
        }
    }

    [Fact]
    public async Task Demo_with_no_scan_pairs_the_sensors_and_starts_no_scan()
    {
        await using var demo = await DemoProcess.StartAsync(_dataDir, "--no-scan");
        using var transcript = Transcript(demo, "--no-scan");

        await AssertManagerSeesBothSensorsOnlineAsync(demo);
        Assert.Null(demo.Scan);
        Assert.DoesNotContain(demo.Output, l => l.StartsWith("scan "));
        Assert.Empty(await ListScansAsync(demo));

        Assert.Equal(0, await demo.Process.TerminateAsync());
        AssertStoppedCleanly(demo);
    }

    [Fact]
    public async Task Demo_fails_with_one_line_and_exit_code_1_when_a_sensor_has_an_owner_of_its_own()
    {
        // sensor-1's directory holds a node someone else claimed: the demo's owner cannot pair it.
        await using (var stranger = await NodeProcess.StartAsync(Path.Combine(DemoDir, "sensor-1")))
        {
            using var https = new Https(stranger.HttpUrl);
            var code = File.ReadAllText(Path.Combine(DemoDir, "sensor-1", "setup-code.txt")).Trim();
            var setup = await https.PostJsonAsync("/api/auth/setup", new { username = "someone", password = "else's password", setup_code = code });
            Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
            Assert.Equal(0, await stranger.TerminateAsync());
        }

        await using var demo = DemoProcess.Launch(["--data-dir", _dataDir, "--http-port", "0"]);

        Assert.Equal(1, await demo.Process.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        var failure = Assert.Single(demo.Output, l => l.StartsWith("[stderr] "));
        Assert.StartsWith("[stderr] ABPA3 demo failed: sensor-1 is configured", failure);
        Assert.Contains(DemoDir, failure);
        Assert.DoesNotContain(demo.Output, l => l.StartsWith("ABPA3 demo ready"));
    }

    /// <summary>Signs in at the printed manager URL with the printed credentials; returns each sensor's paired_at.</summary>
    private static async Task<Dictionary<string, string>> AssertManagerSeesBothSensorsOnlineAsync(DemoProcess demo)
    {
        foreach (var sensor in new[] { "sensor-1", "sensor-2" })
            Assert.Contains((sensor, demo.Nodes[sensor]["device_id"], "sensor", "peer", "online"), demo.Peers);

        using var https = new Https(demo.ManagerUrl);
        var token = await https.LoginAsync(demo.Username, demo.Password);
        Assert.Equal(demo.Nodes["manager"]["cert_sha256"], https.ServedCertSha256);
        // The demo saw both online before it printed; on a loaded machine a heartbeat may be late, so allow a few seconds.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var devices = (await https.GetJsonAsync("/api/devices", token))["devices"]!.AsArray().Select(d => d!.AsObject()).ToList();
            var entries = new[] { "sensor-1", "sensor-2" }.ToDictionary(s => s, s => devices.SingleOrDefault(d => Text(d, "device_id") == demo.Nodes[s]["device_id"]));
            if (entries.Values.All(e => e?["online"]!.GetValue<bool>() == true) || DateTime.UtcNow > deadline)
            {
                Assert.Equal(2, devices.Count);
                foreach (var entry in entries.Values)
                {
                    Assert.NotNull(entry);
                    Assert.Equal(("peer", "sensor", true, false),
                        (Text(entry, "kind"), Text(entry, "role"), entry["online"]!.GetValue<bool>(), entry["revoked"]!.GetValue<bool>()));
                }
                return entries.ToDictionary(e => e.Key, e => Text(e.Value!, "paired_at"));
            }
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// The scan the demo printed ran across both sensors, one progress line per change (stdout is a pipe here,
    /// so no escape codes), every segment done once, and the demo said its bytes match the simulated driver.
    /// The manager lists it completed and serves exactly those bytes. Returns the scan's id.
    /// </summary>
    private async Task<string> AssertScanRanAcrossBothSensorsAndMatchedAsync(DemoProcess demo)
    {
        var scan = demo.Scan;
        Assert.NotNull(scan);
        log.WriteLine($"scan {scan.Id}: {scan.Lines.Count} progress lines");
        Assert.DoesNotContain(demo.Output, l => l.Contains('\e'));
        Assert.StartsWith($"scan {scan.Id} across sensor-1 and sensor-2: 64x64 samples in 8 segments of 8 rows", scan.Header);
        Assert.StartsWith("  progress from the manager's sync channel", scan.Source);

        var lines = scan.Lines.Select(l => l ?? throw new Xunit.Sdk.XunitException("a progress line that does not parse")).ToList();
        Assert.StartsWith("started", lines[0].Change);
        Assert.All(lines, l => Assert.Equal(8, l.Total));
        Assert.True(lines.Zip(lines.Skip(1), (a, b) => a.Done <= b.Done).All(ok => ok), "the count of done segments went down");
        var done = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l.Change, @"^segment (\d+) done by (sensor-\d)\b"))
            .Where(m => m.Success).Select(m => (Segment: int.Parse(m.Groups[1].Value), Sensor: m.Groups[2].Value)).ToList();
        Assert.Equal(Enumerable.Range(0, 8), done.Select(d => d.Segment).Order());
        var last = lines[^1];
        Assert.Equal((8, "completed"), (last.Done, last.Change));
        // Usually four each; on a loaded machine a sensor may miss heartbeats and its segments move to the other.
        Assert.Equal(new[] { "sensor-1", "sensor-2" }.ToDictionary(s => s, s => done.Count(d => d.Sensor == s)), last.DoneBy);

        using var https = new Https(demo.ManagerUrl);
        var token = await https.LoginAsync(demo.Username, demo.Password);
        var listed = (await https.GetJsonAsync("/api/scans", token))["scans"]!.AsArray().Select(s => s!.AsObject())
            .Single(s => Text(s, "scan_id") == scan.Id);
        Assert.Equal(("completed", 1.0), (Text(listed, "state"), listed["progress"]!.GetValue<double>()));
        var p = listed["params"]!.AsObject();
        var parameters = new ScanParameters(p["width"]!.GetValue<int>(), p["height"]!.GetValue<int>(), p["segments"]!.GetValue<int>(),
            p["seed"]!.GetValue<long>(), p["rows_per_second"]!.GetValue<double>());
        Assert.Equal((64, 64, 8), (parameters.Width, parameters.Height, parameters.Segments));
        Assert.Equal(new[] { demo.Nodes["sensor-1"]["device_id"], demo.Nodes["sensor-2"]["device_id"] }.Order(),
            listed["sensors"]!.AsArray().Select(s => Text(s!.AsObject(), "device_id")).Order());

        var expected = new SimulatedDriver().ReadRows(parameters, 0, parameters.Height);
        Assert.Equal(expected, await https.GetBytesAsync($"/api/scans/{scan.Id}/data", token));
        Assert.Equal((expected.Length, Convert.ToHexStringLower(SHA256.HashData(expected))), (scan.Bytes, scan.Sha256));
        return scan.Id;
    }

    /// <summary>The manager's scans (GET /api/scans with the printed login): id and state.</summary>
    private static async Task<List<(string Id, string State)>> ListScansAsync(DemoProcess demo)
    {
        using var https = new Https(demo.ManagerUrl);
        var token = await https.LoginAsync(demo.Username, demo.Password);
        return (await https.GetJsonAsync("/api/scans", token))["scans"]!.AsArray()
            .Select(s => (Text(s!.AsObject(), "scan_id"), Text(s.AsObject(), "state"))).ToList();
    }

    private void AssertStoppedCleanly(DemoProcess demo)
    {
        Assert.Contains("ABPA3 demo stopped", demo.Output);
        var failures = demo.Output.Where(l => l.Contains("Exception") || l.Contains("fail:")).ToList();
        Assert.True(failures.Count == 0, string.Join('\n', failures));
        foreach (var node in new[] { "manager", "sensor-1", "sensor-2" })
        {
            var wal = new FileInfo(Path.Combine(DemoDir, node, "mesh.db-wal"));
            Assert.False(wal.Exists && wal.Length > 0, $"{node}'s journal WAL still holds unmerged pages after a clean stop");
        }
    }

    private static string Text(JsonObject json, string field) => json[field]!.ToString();

    /// <summary>The demo's console in the test log once the block ends, so a failure shows what the demo said.</summary>
    private IDisposable Transcript(DemoProcess demo, string title) => new AtEnd(() =>
        log.WriteLine($"--- {title} ---\n" + string.Join('\n', demo.Output)));

    private sealed class AtEnd(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
