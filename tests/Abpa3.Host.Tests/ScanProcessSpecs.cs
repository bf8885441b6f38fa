using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Abpa3.Actors.Sensor;
using Abpa3.Host.Tests.Support;
using Xunit.Abstractions;

namespace Abpa3.Host.Tests;

/// <summary>
/// Scans across real node processes on loopback (SPEC §7): a manager and its paired sensors, each a process with its own
/// SQLite journal, killed with SIGKILL and restarted on the same data directory and ports, or cut off from the manager by
/// a TCP proxy on the peer link. Whatever happens on the way, the result the manager assembles must be exactly the
/// simulated driver's bytes, and every segment must be done once, by one sensor. Rates are slow enough (a segment takes
/// a second or two) that "mid-scan" is real.
/// </summary>
[Collection(TimedProcessCollection.Name)]
public sealed class ScanProcessSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Liveness timeout is 800 ms; this leaves room for a busy 2-core machine.</summary>
    private static readonly TimeSpan FailoverWithin = TimeSpan.FromSeconds(3);
    /// <summary>How long a wait for a presence change goes on before it reports failure.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    /// <summary>
    /// How long a wait for a device that was just paired, restarted or cut off to be heard again goes on. Usually it takes
    /// well under a second; but a node that has just started (or paired) refuses its peers until it has pinned them, and
    /// a peer whose connection it refused that way can wait out Akka.Remote's 15 s connect timeout before it dials again.
    /// </summary>
    private static readonly TimeSpan ReadmitPatience = TimeSpan.FromSeconds(20);
    /// <summary>How long a wait for a scan to reach a state goes on: well beyond what the slowest scan here needs.</summary>
    private static readonly TimeSpan ScanPatience = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly List<MeshDevice> _devices = [];
    private readonly List<TcpProxy> _proxies = [];
    private readonly Stopwatch _testClock = Stopwatch.StartNew();

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Stops the proxies, kills every node this test started, deletes its data directory, and logs its output.</summary>
    public async Task DisposeAsync()
    {
        var failures = new List<Exception>();
        foreach (var proxy in _proxies)
            await proxy.DisposeAsync();
        foreach (var device in _devices)
        {
            try
            {
                await device.DisposeAsync();
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
            output.WriteLine($"---- {device.Label} output ----");
            foreach (var line in device.Output)
                output.WriteLine(line);
        }
        Log($"test took {_testClock.Elapsed.TotalSeconds:0.0} s");
        if (failures.Count > 0)
            throw new AggregateException("cleaning up the nodes failed", failures);
    }

    [Fact]
    public async Task A_scan_across_three_sensor_processes_completes_with_the_exact_result()
    {
        var (manager, sensors) = await StartMeshAsync(3);
        var scan = new ScanSpec(Width: 48, Height: 90, Segments: 9, Seed: 42, RowsPerSecond: 50);

        var clock = Stopwatch.StartNew();
        var id = await StartScanAsync(manager, scan);
        var (completed, after) = await WaitForScanAsync(manager, id, s => s.State == "completed", ScanPatience, "the scan completes", clock);
        Report($"3 sensors, {scan.Segments} segments of {scan.SegmentTime.TotalMilliseconds:0} ms: completed after {after.TotalMilliseconds:0} ms");

        await AssertCompletedExactlyOnceAsync(manager, id, scan);
        Assert.All(sensors, s => Assert.True(completed.Sensor(s).Done > 0, $"every sensor should have done a segment: {Describe(completed)}"));
    }

    [Fact]
    public async Task A_sensor_killed_mid_scan_has_its_segments_moved_and_after_a_restart_is_back_without_pairing_and_used_again()
    {
        var (manager, sensors) = await StartMeshAsync(3);
        var victim = sensors[0];
        var pairedAt = PairedAt((await WaitForDeviceAsync(manager, victim, Online, Patience, "the manager lists the victim online")).Entry);
        var scan = new ScanSpec(Width: 32, Height: 120, Segments: 12, Seed: 5, RowsPerSecond: 10);

        var (id, before) = await StartScanUntilAsync(manager, scan, s => s.DoneCount >= 1 && s.Sensor(victim).Assigned >= 2,
            $"the {victim.Label} has done work and has more to do");

        var sinceKill = Stopwatch.StartNew();
        await victim.KillAsync();
        var (_, offlineAfter) = await WaitForScanAsync(manager, id, s => !s.Sensor(victim).Online, Patience,
            $"the scan lists the killed {victim.Label} offline", sinceKill);
        var (moved, movedAfter) = await WaitForScanAsync(manager, id, s => s.Sensor(victim).Assigned == 0, Patience,
            $"the killed {victim.Label}'s unfinished segments are reassigned", sinceKill);
        Report($"sensor kill -9 -> offline in the scan after {offlineAfter.TotalMilliseconds:0} ms, its segments reassigned after {movedAfter.TotalMilliseconds:0} ms");
        Assert.True(movedAfter <= FailoverWithin, $"reassigning took {movedAfter.TotalMilliseconds:0} ms (bound {FailoverWithin.TotalSeconds} s): {Describe(moved)}");
        Assert.All(moved.Segments.Where(s => s.State != "done"), s => Assert.Contains(s.Sensor, sensors.Skip(1).Select(x => x.DeviceId)));
        // What was done before the kill stays done, by the same sensor.
        Assert.All(before.Segments.Where(s => s.State == "done"), s => Assert.Equal((s.Sensor, "done"), (moved.Segment(s.Index).Sensor, moved.Segment(s.Index).State)));

        var (_, completedAfter) = await WaitForScanAsync(manager, id, s => s.State == "completed", ScanPatience, "the scan completes", sinceKill);
        Report($"scan completed {completedAfter.TotalMilliseconds:0} ms after the kill");
        await AssertCompletedExactlyOnceAsync(manager, id, scan);

        // Restarted on its data directory and ports: the manager takes it back without pairing again.
        var sinceRestart = Stopwatch.StartNew();
        await victim.RestartAsync();
        var readyAfter = sinceRestart.Elapsed;
        var (back, onlineAfter) = await WaitForDeviceAsync(manager, victim, Online, ReadmitPatience, $"the manager lists the restarted {victim.Label} online", sinceRestart);
        Report($"sensor restart: ready after {readyAfter.TotalMilliseconds:0} ms, online on the manager after {onlineAfter.TotalMilliseconds:0} ms");
        Assert.Equal(("peer", "sensor", false, pairedAt), (Kind(back), Role(back), Revoked(back), PairedAt(back)));
        var info = await GetJsonAsync(victim, "/api/devices/info");
        Assert.Equal(("paired", manager.DeviceId), (info["state"]!.GetValue<string>(), info["manager_device_id"]!.GetValue<string>()));
        // Results it had written but not yet delivered when it was killed went to the manager after the restart (as duplicates).
        await WaitForSensorStatusAsync(manager, victim, s => s is { Queued: 0, Unacknowledged: 0 }, ReadmitPatience,
            $"the restarted {victim.Label} has no work left and nothing unacknowledged");

        var next = new ScanSpec(Width: 32, Height: 60, Segments: 6, Seed: 6, RowsPerSecond: 60);
        var nextId = await StartScanAsync(manager, next);
        var (nextDone, _) = await WaitForScanAsync(manager, nextId, s => s.State == "completed", ScanPatience, "the next scan completes");
        await AssertCompletedExactlyOnceAsync(manager, nextId, next);
        Assert.True(nextDone.Sensor(victim).Done > 0, $"the restarted {victim.Label} should take part in the next scan: {Describe(nextDone)}");
    }

    [Fact]
    public async Task A_manager_killed_mid_scan_resumes_it_from_its_journal_after_a_restart_and_leaves_each_segment_with_its_sensor()
    {
        // The restarted manager leaves segments with sensors it has not heard again for abpa3.scans.recovery-grace (5 s).
        // Live sensors are usually heard within a second, but can take up to ReadmitPatience, which is no reason for this
        // test to fail: the manager here waits 30 s. (With no grace at all, this test fails in every run.)
        var (manager, _) = await StartMeshAsync(2, managerEnvironment: new() { ["ABPA3__SCANS__RECOVERY_GRACE"] = "30s" });
        var scan = new ScanSpec(Width: 32, Height: 120, Segments: 12, Seed: 3, RowsPerSecond: 5);

        var id = await StartScanAsync(manager, scan);
        var (before, _) = await WaitForScanAsync(manager, id, s => s.DoneCount >= 1, ScanPatience, "a segment is done");
        Assert.True(before.DoneCount < scan.Segments, $"the scan should still be running when the manager is killed: {Describe(before)}");

        await manager.KillAsync();
        var sinceRestart = Stopwatch.StartNew();
        await manager.RestartAsync();
        var readyAfter = sinceRestart.Elapsed;
        var resumed = await GetScanAsync(manager, id);
        Log($"  scan right after the restart: {Describe(resumed)}");
        // What the owner saw done before the crash was in the journal: it is still done, by the same sensor.
        Assert.All(before.Segments.Where(s => s.State == "done"),
            s => Assert.True(resumed.Segment(s.Index) is { State: "done" } r && r.Sensor == s.Sensor, $"segment {s.Index} lost by the restart: {Describe(resumed)}"));

        // The sensors never went away, only the manager did: not hearing them yet is no reason to move their segments
        // (they are still working on them) or to call the scan paused.
        void NothingMoves(ScanView view)
        {
            Assert.True(view.State != "paused", $"a manager restart should not pause a scan whose sensors are up: {Describe(view)}");
            foreach (var segment in view.Segments.Where(s => s.State != "done"))
                Assert.True(segment.Sensor == before.Segment(segment.Index).Sensor,
                    $"segment {segment.Index} moved from {Name(before.Segment(segment.Index).Sensor)} though no sensor went away: {Describe(view)}");
        }
        NothingMoves(resumed);
        var (_, onlineAfter) = await WaitForScanAsync(manager, id, s => s.Sensors.All(x => x.Online), ScanPatience,
            "the restarted manager lists both sensors online", sinceRestart, NothingMoves);
        var (_, completedAfter) = await WaitForScanAsync(manager, id, s => s.State == "completed", ScanPatience,
            "the resumed scan completes", sinceRestart, NothingMoves);
        Report($"manager restart: ready after {readyAfter.TotalMilliseconds:0} ms, both sensors online after {onlineAfter.TotalMilliseconds:0} ms, "
               + $"scan completed after {completedAfter.TotalMilliseconds:0} ms");
        await AssertCompletedExactlyOnceAsync(manager, id, scan);
    }

    [Fact]
    public async Task A_sensor_cut_off_from_the_manager_has_its_segments_moved_and_once_the_link_is_back_is_online_and_its_results_are_delivered()
    {
        // The peer link between the manager and sensor-1 runs through two proxies, one for each direction of dialling: every
        // sensor dials the manager through the first, the manager dials sensor-1 through the second. Akka.Remote takes only
        // messages addressed to its own address, so each node advertises its proxy's port (abpa3.node.remote-public-port).
        // Cutting sensor-1 drops its connections on both and refuses its new ones; the other sensors keep their link.
        var toManager = Proxy("proxy to the manager");
        var toSensor = Proxy("proxy to sensor-1");
        var manager = Track(new MeshDevice("manager", Log));
        var isolated = Track(new MeshDevice("sensor-1", Log));
        MeshDevice[] others = [Track(new MeshDevice("sensor-2", Log)), Track(new MeshDevice("sensor-3", Log))];
        toManager.Start(manager.Ports.Remote);
        toSensor.Start(isolated.Ports.Remote);
        await Task.WhenAll([
            manager.StartAsync(AdvertisePort(toManager)), isolated.StartAsync(AdvertisePort(toSensor)), .. others.Select(s => s.StartAsync())]);
        Assert.EndsWith($":{toManager.Port}", manager.Process.RemoteAddress);
        Assert.EndsWith($":{toSensor.Port}", isolated.Process.RemoteAddress);
        MeshDevice[] sensors = [isolated, .. others];
        await PairAsync(manager, sensors);
        var pairedAt = PairedAt((await WaitForDeviceAsync(manager, isolated, Online, Patience, "the manager lists sensor-1 online")).Entry);
        Assert.True(toManager.Accepted > 0, "the sensors should reach the manager through its proxy");

        var scan = new ScanSpec(Width: 32, Height: 120, Segments: 12, Seed: 8, RowsPerSecond: 10);
        var (id, _) = await StartScanUntilAsync(manager, scan, s => s.DoneCount >= 1 && s.Sensor(isolated).Assigned >= 2,
            "sensor-1 has done work and has more to do");

        var sinceCut = Stopwatch.StartNew();
        var isolatedPid = isolated.Process.Pid;
        var dropped = toSensor.Cut() + toManager.Cut(client => LoopbackSockets.IsHeldBy(isolatedPid, client.Port, toManager.Port));
        Assert.True(dropped > 0, "the cut should drop sensor-1's open connections");
        var (_, offlineAfter) = await WaitForScanAsync(manager, id, s => !s.Sensor(isolated).Online, Patience, "the scan lists sensor-1 offline", sinceCut);
        var (moved, movedAfter) = await WaitForScanAsync(manager, id, s => s.Sensor(isolated).Assigned == 0, Patience,
            "sensor-1's unfinished segments are reassigned", sinceCut);
        Report($"network cut -> offline in the scan after {offlineAfter.TotalMilliseconds:0} ms, its segments reassigned after {movedAfter.TotalMilliseconds:0} ms");
        Assert.True(movedAfter <= FailoverWithin, $"reassigning took {movedAfter.TotalMilliseconds:0} ms (bound {FailoverWithin.TotalSeconds} s): {Describe(moved)}");

        var (completed, completedAfter) = await WaitForScanAsync(manager, id, s => s.State == "completed", ScanPatience,
            "the scan completes without sensor-1", sinceCut);
        Report($"scan completed {completedAfter.TotalMilliseconds:0} ms after the cut");
        Assert.True(others.All(o => completed.Sensor(o).Online) && !completed.Sensor(isolated).Online, $"only sensor-1 should be cut off: {Describe(completed)}");
        await AssertCompletedExactlyOnceAsync(manager, id, scan);

        // Cut off, sensor-1 went on with the segments it had and keeps their results. (The owner's status request travels over
        // HTTP, which the proxies do not carry: only the peer link is cut.)
        var (whileCut, _) = await WaitForSensorStatusAsync(manager, isolated, s => s.Queued == 0 && s.Unacknowledged > 0, Patience,
            "sensor-1 finished its segments and keeps their results");
        Assert.True(toManager.Refused + toSensor.Refused > 0, "sensor-1 and the manager should have tried to reconnect through the cut");

        var sinceRestore = Stopwatch.StartNew();
        toManager.Restore();
        toSensor.Restore();
        var (back, onlineAfter) = await WaitForDeviceAsync(manager, isolated, Online, ReadmitPatience, "the manager lists sensor-1 online again", sinceRestore);
        var (_, deliveredAfter) = await WaitForSensorStatusAsync(manager, isolated, s => s.Unacknowledged == 0, ReadmitPatience,
            "the manager acknowledged the results sensor-1 kept", sinceRestore);
        Report($"link restored -> sensor-1 online after {onlineAfter.TotalMilliseconds:0} ms, its {whileCut.Unacknowledged} kept result(s) "
               + $"acknowledged after {deliveredAfter.TotalMilliseconds:0} ms");
        Assert.Equal(("peer", "sensor", false, pairedAt), (Kind(back), Role(back), Revoked(back), PairedAt(back)));
        // The late results were duplicates: the completed scan is unchanged.
        await AssertCompletedExactlyOnceAsync(manager, id, scan);
        Assert.Equal(completed.Segments, (await GetScanAsync(manager, id)).Segments);

        // And sensor-1 takes part in the next scan again.
        var next = new ScanSpec(Width: 32, Height: 60, Segments: 6, Seed: 9, RowsPerSecond: 60);
        var nextId = await StartScanAsync(manager, next);
        var (nextDone, _) = await WaitForScanAsync(manager, nextId, s => s.State == "completed", ScanPatience, "the next scan completes");
        await AssertCompletedExactlyOnceAsync(manager, nextId, next);
        Assert.True(nextDone.Sensor(isolated).Done > 0, $"sensor-1 should take part in the next scan: {Describe(nextDone)}");
    }

    [Fact]
    public async Task With_every_sensor_killed_the_scan_pauses_and_a_restarted_sensor_finishes_it()
    {
        var (manager, sensors) = await StartMeshAsync(2);
        var scan = new ScanSpec(Width: 16, Height: 60, Segments: 6, Seed: 9, RowsPerSecond: 10);

        var id = await StartScanAsync(manager, scan);
        await WaitForScanAsync(manager, id, s => s.DoneCount >= 1, ScanPatience, "a segment is done");
        var sinceKill = Stopwatch.StartNew();
        await Task.WhenAll(sensors.Select(s => s.KillAsync()));

        var (paused, pausedAfter) = await WaitForScanAsync(manager, id, s => s.State == "paused", Patience, "the scan pauses", sinceKill);
        Report($"both sensors kill -9 -> paused after {pausedAfter.TotalMilliseconds:0} ms");
        Assert.True(paused.DoneCount < scan.Segments, Describe(paused));
        Assert.All(paused.Segments.Where(s => s.State != "done"), s => Assert.Equal((null, "waiting"), (s.Sensor, s.State)));
        Assert.All(sensors, s => Assert.False(paused.Sensor(s).Online, Describe(paused)));
        await AssertNoDataAsync(manager, id);
        // Paused means paused: nothing moves while no sensor is there.
        await AlwaysScanAsync(manager, id, s => s.State == "paused" && s.DoneCount == paused.DoneCount, TimeSpan.FromSeconds(1), "the scan stays paused");

        var back = sensors[0];
        var sinceRestart = Stopwatch.StartNew();
        await back.RestartAsync();
        var readyAfter = sinceRestart.Elapsed;
        var (running, runningAfter) = await WaitForScanAsync(manager, id, s => s.State != "paused", ReadmitPatience, $"the scan resumes with the restarted {back.Label}", sinceRestart);
        Assert.True(running.State == "running", $"the scan should be running again, not already finished: {Describe(running)}");
        Assert.All(running.Segments.Where(s => s.State != "done"), s => Assert.Equal((back.DeviceId, "assigned"), (s.Sensor, s.State)));
        var (_, completedAfter) = await WaitForScanAsync(manager, id, s => s.State == "completed", ScanPatience, "the scan completes", sinceRestart);
        Report($"sensor restart: ready after {readyAfter.TotalMilliseconds:0} ms, scan running after {runningAfter.TotalMilliseconds:0} ms, "
               + $"completed after {completedAfter.TotalMilliseconds:0} ms");
        await AssertCompletedExactlyOnceAsync(manager, id, scan);
    }

    [Fact]
    public async Task Cancel_works_before_any_segment_is_done_mid_scan_and_after_completion()
    {
        var (manager, sensors) = await StartMeshAsync(2);

        // Before any segment is done: a segment takes 5 s here.
        var early = new ScanSpec(Width: 16, Height: 40, Segments: 4, Seed: 1, RowsPerSecond: 2);
        var earlyId = await StartScanAsync(manager, early);
        var cancelled = await CancelAsync(manager, earlyId);
        Assert.True(cancelled is { State: "cancelled", DoneCount: 0, Progress: 0 }, $"cancelled before any segment: {Describe(cancelled)}");
        Assert.NotNull(cancelled.FinishedAt);
        await AssertNoDataAsync(manager, earlyId);
        Assert.Equal("cancelled", (await CancelAsync(manager, earlyId)).State); // again: no change

        // Mid-scan: what was done stays done, nothing more is accepted.
        var mid = new ScanSpec(Width: 16, Height: 60, Segments: 6, Seed: 2, RowsPerSecond: 10);
        var midId = await StartScanAsync(manager, mid);
        await WaitForScanAsync(manager, midId, s => s.DoneCount >= 1, ScanPatience, "a segment is done");
        var midCancelled = await CancelAsync(manager, midId);
        Assert.True(midCancelled is { State: "cancelled", DoneCount: > 0 and < 6 }, $"cancelled mid-scan: {Describe(midCancelled)}");
        await AssertNoDataAsync(manager, midId);
        // Longer than a segment takes, so a result still on its way would have arrived.
        await AlwaysScanAsync(manager, midId, s => s.State == "cancelled" && s.DoneCount == midCancelled.DoneCount, 2 * mid.SegmentTime,
            "the cancelled scan stays as it was");
        await AssertNoDataAsync(manager, midId);
        // The sensors heard it too: they dropped the segments still to run and the results not yet delivered.
        foreach (var sensor in sensors)
            await WaitForSensorStatusAsync(manager, sensor, s => s is { Queued: 0, Unacknowledged: 0 }, Patience, $"the {sensor.Label} dropped the cancelled work");

        // After completion: cancelling changes nothing. The sensors dropped the cancelled work, so this runs at once.
        var done = new ScanSpec(Width: 16, Height: 32, Segments: 4, Seed: 3, RowsPerSecond: 200);
        var clock = Stopwatch.StartNew();
        var doneId = await StartScanAsync(manager, done);
        var (_, doneAfter) = await WaitForScanAsync(manager, doneId, s => s.State == "completed", ScanPatience, "the last scan completes", clock);
        Report($"a scan after two cancelled ones completed after {doneAfter.TotalMilliseconds:0} ms");
        var late = await CancelAsync(manager, doneId);
        Assert.True(late.State == "completed", $"a completed scan stays completed when cancelled: {Describe(late)}");
        await AssertCompletedExactlyOnceAsync(manager, doneId, done);
        Assert.Equal(("cancelled", "cancelled"), ((await GetScanAsync(manager, earlyId)).State, (await GetScanAsync(manager, midId)).State));
    }

    // ---- the mesh ----

    private MeshDevice Track(MeshDevice device)
    {
        _devices.Add(device);
        return device;
    }

    /// <summary>A manager (with <paramref name="managerEnvironment"/> when given) and <paramref name="sensorCount"/> sensors, started together, claimed, paired and online.</summary>
    private async Task<(MeshDevice Manager, MeshDevice[] Sensors)> StartMeshAsync(int sensorCount, Dictionary<string, string>? managerEnvironment = null)
    {
        var clock = Stopwatch.StartNew();
        var manager = Track(new MeshDevice("manager", Log));
        var sensors = Enumerable.Range(1, sensorCount).Select(i => Track(new MeshDevice($"sensor-{i}", Log))).ToArray();
        await Task.WhenAll([manager.StartAsync(managerEnvironment), .. sensors.Select(s => s.StartAsync())]);
        await PairAsync(manager, sensors);
        Log($"mesh of {sensorCount} sensors up and paired after {clock.Elapsed.TotalMilliseconds:0} ms");
        return (manager, sensors);
    }

    private async Task PairAsync(MeshDevice manager, IReadOnlyList<MeshDevice> sensors)
    {
        await manager.SetUpOwnerAsync();
        foreach (var sensor in sensors)
        {
            var response = await manager.PairAsync(sensor);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"pairing the {sensor.Label} answered {(int)response.StatusCode}: {text}");
        }
        foreach (var sensor in sensors)
            await WaitForDeviceAsync(manager, sensor, Online, ReadmitPatience, $"the manager lists the {sensor.Label} online");
    }

    // ---- scans ----

    /// <summary>Parameters of a simulated scan, and the bytes it must assemble.</summary>
    private sealed record ScanSpec(int Width, int Height, int Segments, long Seed, double RowsPerSecond)
    {
        public object Json => new { width = Width, height = Height, segments = Segments, seed = Seed, rows_per_second = RowsPerSecond };

        public byte[] Expected => new SimulatedDriver().ReadRows(new ScanParameters(Width, Height, Segments, Seed, RowsPerSecond), 0, Height);

        /// <summary>How long a sensor takes for one segment (the segments here divide the rows evenly).</summary>
        public TimeSpan SegmentTime => TimeSpan.FromSeconds(Height / Segments / RowsPerSecond);
    }

    private static async Task<string> StartScanAsync(MeshDevice manager, ScanSpec scan)
    {
        var response = await manager.Http.PostJsonAsync("/api/scans", new { @params = scan.Json });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"starting a scan answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!["scan_id"]!.GetValue<string>();
    }

    /// <summary>
    /// Starts the scan and waits until <paramref name="ready"/> holds while it has not ended. On a machine loaded by other
    /// work a few missed heartbeats can make the manager take a sensor for gone for a moment and move its segments before
    /// that; then the scan is left to end and another started, up to three.
    /// </summary>
    private async Task<(string Id, ScanView Scan)> StartScanUntilAsync(MeshDevice manager, ScanSpec spec, Func<ScanView, bool> ready, string what)
    {
        for (var attempt = 1; ; attempt++)
        {
            var id = await StartScanAsync(manager, spec);
            var (scan, _) = await WaitForScanAsync(manager, id, s => s.State is "completed" or "cancelled" || ready(s), ScanPatience, what);
            if (ready(scan) && scan.State is not ("completed" or "cancelled"))
                return (id, scan);
            Assert.True(attempt < 3, $"{what}: not seen in {attempt} scans; the last: {Describe(scan)}");
            Log($"{what}: not before the scan ended; starting another");
        }
    }

    private static async Task<ScanView> CancelAsync(MeshDevice manager, string id)
    {
        var response = await manager.Http.PostJsonAsync($"/api/scans/{id}/cancel", new { });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"cancelling answered {(int)response.StatusCode}: {text}");
        return new ScanView(JsonNode.Parse(text)!.AsObject());
    }

    private static async Task<ScanView> GetScanAsync(MeshDevice manager, string id) =>
        new(await GetJsonAsync(manager, $"/api/scans/{id}"));

    /// <summary>GET as the owner; a 503 from a busy node is tried again, a node that died is reported with its output.</summary>
    private static async Task<JsonObject> GetJsonAsync(MeshDevice device, string path)
    {
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage response;
            try
            {
                response = await device.Http.GetAsync(path);
            }
            catch (HttpRequestException) when (device.Process.HasExited)
            {
                Assert.Fail($"the {device.Label} exited (code {device.Process.ExitCode}):\n{device.Tail()}");
                throw;
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync();
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 10)
                {
                    await Task.Delay(200);
                    continue;
                }
                Assert.True(response.IsSuccessStatusCode, $"GET {path} on the {device.Label}: {(int)response.StatusCode} {text}");
                return JsonNode.Parse(text)!.AsObject();
            }
        }
    }

    /// <summary>
    /// Polls the scan until it meets the condition and says how long that took (from <paramref name="since"/> when given);
    /// fails with what it saw last otherwise. Each change it sees is logged; <paramref name="checkEach"/> asserts on every view.
    /// </summary>
    private async Task<(ScanView Scan, TimeSpan Elapsed)> WaitForScanAsync(MeshDevice manager, string id, Func<ScanView, bool> condition,
        TimeSpan timeout, string what, Stopwatch? since = null, Action<ScanView>? checkEach = null)
    {
        var clock = since ?? Stopwatch.StartNew();
        var started = clock.Elapsed;
        var seen = "";
        while (true)
        {
            var scan = await GetScanAsync(manager, id);
            var description = Describe(scan);
            if (description != seen)
                Log($"  scan: {seen = description}");
            checkEach?.Invoke(scan);
            if (condition(scan))
            {
                Log($"{what}: after {clock.Elapsed.TotalMilliseconds:0} ms");
                return (scan, clock.Elapsed);
            }
            if (clock.Elapsed - started > timeout)
                Assert.Fail($"{what}: not within {timeout.TotalSeconds:0.#} s; last seen: {description}");
            await Task.Delay(PollInterval);
        }
    }

    /// <summary>Polls the scan for <paramref name="duration"/> and fails at the first view that breaks the condition.</summary>
    private async Task AlwaysScanAsync(MeshDevice manager, string id, Func<ScanView, bool> condition, TimeSpan duration, string what)
    {
        var clock = Stopwatch.StartNew();
        var observations = 0;
        do
        {
            var scan = await GetScanAsync(manager, id);
            Assert.True(condition(scan), $"{what}: broken after {clock.Elapsed.TotalMilliseconds:0} ms: {Describe(scan)}");
            observations++;
            await Task.Delay(PollInterval);
        } while (clock.Elapsed < duration);
        Assert.True(observations >= 2, $"{what}: only {observations} observation(s) in {duration.TotalSeconds:0.#} s");
        Log($"{what}: held for {clock.Elapsed.TotalMilliseconds:0} ms ({observations} observations)");
    }

    /// <summary>
    /// The scan completed, every segment is listed once and done by one of its sensors, the sensors' counts add up to the
    /// segments, and the assembled bytes are exactly the simulated driver's.
    /// </summary>
    private async Task AssertCompletedExactlyOnceAsync(MeshDevice manager, string id, ScanSpec spec)
    {
        var scan = await GetScanAsync(manager, id);
        var sensorIds = scan.Sensors.Select(s => s.DeviceId).ToHashSet();
        Assert.True(scan.State == "completed" && scan.Progress == 1.0 && scan.FinishedAt is not null, $"the scan should be completed: {Describe(scan)}");
        Assert.True(scan.Segments.Select(s => s.Index).SequenceEqual(Enumerable.Range(0, spec.Segments)),
            $"each of the {spec.Segments} segments should be listed once, in order: {Describe(scan)}");
        Assert.True(scan.Segments.All(s => s.State == "done" && s.Sensor is not null && sensorIds.Contains(s.Sensor)),
            $"every segment should be done by one of the scan's sensors: {Describe(scan)}");
        Assert.True(scan.Sensors.Sum(s => s.Done) == spec.Segments && scan.Sensors.All(s => s.Assigned == 0),
            $"the sensors' done segments should add up to {spec.Segments}, none left assigned: {Describe(scan)}");
        Assert.True(scan.Sensors.All(s => s.Done == scan.Segments.Count(x => x.Sensor == s.DeviceId)),
            $"each sensor's count should match the segments listed for it: {Describe(scan)}");

        using var response = await manager.Http.GetAsync($"/api/scans/{id}/data");
        var data = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"the data of a completed scan answered {(int)response.StatusCode}");
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var expected = spec.Expected;
        var firstDifference = Enumerable.Range(0, Math.Min(data.Length, expected.Length)).FirstOrDefault(i => data[i] != expected[i], -1);
        Assert.True(data.Length == expected.Length && firstDifference == -1,
            $"the assembled result should be the simulated driver's {expected.Length} bytes; got {data.Length} bytes"
            + (firstDifference >= 0 ? $", first difference at byte {firstDifference} (row {firstDifference / spec.Width})" : ""));
        Log($"scan {id}: {data.Length} bytes exact, {spec.Segments} segments once each: {Describe(scan)}");
    }

    private static async Task AssertNoDataAsync(MeshDevice manager, string id)
    {
        using var response = await manager.Http.GetAsync($"/api/scans/{id}/data");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Conflict, $"the data of an unfinished scan should be 409, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    /// <summary><c>GET /api/scans/{id}</c> read into fields.</summary>
    private sealed record ScanView(JsonObject Json)
    {
        public sealed record SegmentEntry(int Index, string? Sensor, string State);

        public sealed record SensorEntry(string DeviceId, bool Online, int Assigned, int Done);

        public string State => Json["state"]!.GetValue<string>();
        public double Progress => Json["progress"]!.GetValue<double>();
        public string? FinishedAt => Json["finished_at"]?.GetValue<string>();

        public IReadOnlyList<SegmentEntry> Segments => Json["segments"]!.AsArray()
            .Select(s => new SegmentEntry(s!["segment"]!.GetValue<int>(), s["sensor"]?.GetValue<string>(), s["state"]!.GetValue<string>())).ToList();

        public IReadOnlyList<SensorEntry> Sensors => Json["sensors"]!.AsArray()
            .Select(s => new SensorEntry(s!["device_id"]!.GetValue<string>(), s["online"]!.GetValue<bool>(),
                s["segments_assigned"]!.GetValue<int>(), s["segments_done"]!.GetValue<int>())).ToList();

        public int DoneCount => Segments.Count(s => s.State == "done");

        public SegmentEntry Segment(int index) => Segments.Single(s => s.Index == index);

        public SensorEntry Sensor(MeshDevice device) => Sensors.Single(s => s.DeviceId == device.DeviceId);
    }

    /// <summary>One line: state, progress, each sensor (online, assigned, done) and each segment's sensor and state, by label.</summary>
    private string Describe(ScanView scan) => $"{scan.State} {scan.Progress:0.##}; sensors "
               + string.Join(", ", scan.Sensors.Select(s => $"{Name(s.DeviceId)} {(s.Online ? "online" : "offline")} {s.Assigned}a/{s.Done}d"))
               + "; segments " + string.Join(" ", scan.Segments.Select(s => $"{s.Index}:{Name(s.Sensor)}:{s.State}"));

    /// <summary>A device's label for a device id.</summary>
    private string Name(string? deviceId) => deviceId is null ? "-" : _devices.FirstOrDefault(d => d.Process.DeviceId == deviceId)?.Label ?? deviceId;

    // ---- proxies and the sensor's own status ----

    private TcpProxy Proxy(string label)
    {
        var proxy = new TcpProxy(label, Log);
        _proxies.Add(proxy);
        return proxy;
    }

    /// <summary>The node advertises the proxy's port as its link address, and listens on its own.</summary>
    private static Dictionary<string, string> AdvertisePort(TcpProxy proxy) => new() { ["ABPA3__NODE__REMOTE_PUBLIC_PORT"] = proxy.Port.ToString() };

    private sealed record SensorStatus(int Queued, int Unacknowledged);

    /// <summary>Polls the sensor's status, read through its manager, until it meets the condition.</summary>
    private async Task<(SensorStatus Status, TimeSpan Elapsed)> WaitForSensorStatusAsync(MeshDevice manager, MeshDevice sensor,
        Func<SensorStatus, bool> condition, TimeSpan timeout, string what, Stopwatch? since = null)
    {
        var clock = since ?? Stopwatch.StartNew();
        var started = clock.Elapsed;
        while (true)
        {
            var json = await GetJsonAsync(manager, $"/api/devices/{sensor.DeviceId}/status");
            var status = new SensorStatus(json["segments_queued"]!.GetValue<int>(), json["results_unacknowledged"]!.GetValue<int>());
            if (condition(status))
            {
                Log($"{what}: after {clock.Elapsed.TotalMilliseconds:0} ms ({status})");
                return (status, clock.Elapsed);
            }
            if (clock.Elapsed - started > timeout)
                Assert.Fail($"{what}: not within {timeout.TotalSeconds:0.#} s; last status: {json.ToJsonString()}");
            await Task.Delay(PollInterval);
        }
    }

    // ---- the manager's device list ----

    private static async Task<JsonObject?> DeviceEntryAsync(MeshDevice observer, MeshDevice subject) =>
        (await GetJsonAsync(observer, "/api/devices"))["devices"]!.AsArray().Select(d => d!.AsObject())
        .SingleOrDefault(d => d["device_id"]!.GetValue<string>() == subject.DeviceId);

    private async Task<(JsonObject Entry, TimeSpan Elapsed)> WaitForDeviceAsync(MeshDevice observer, MeshDevice subject, Func<JsonObject, bool> condition,
        TimeSpan timeout, string what, Stopwatch? since = null)
    {
        var clock = since ?? Stopwatch.StartNew();
        var started = clock.Elapsed;
        while (true)
        {
            var entry = await DeviceEntryAsync(observer, subject);
            if (entry is not null && condition(entry))
            {
                Log($"{what}: after {clock.Elapsed.TotalMilliseconds:0} ms");
                return (entry, clock.Elapsed);
            }
            if (clock.Elapsed - started > timeout)
                Assert.Fail($"{what}: not within {timeout.TotalSeconds:0.#} s; last entry: {entry?.ToJsonString() ?? "not listed"}");
            await Task.Delay(PollInterval);
        }
    }

    private static bool Online(JsonObject entry) => entry["online"]!.GetValue<bool>();
    private static bool Revoked(JsonObject entry) => entry["revoked"]!.GetValue<bool>();
    private static string Kind(JsonObject entry) => entry["kind"]!.GetValue<string>();
    private static string Role(JsonObject entry) => entry["role"]!.GetValue<string>();
    private static string PairedAt(JsonObject entry) => entry["paired_at"]!.GetValue<string>();

    private void Report(string line) => Log("timing: " + line);

    private void Log(string line) => output.WriteLine($"[{_testClock.Elapsed.TotalSeconds,5:0.0} s] {line}");
}
