using System.Net;
using System.Text.Json.Nodes;
using Abpa3.Actors.Sensor;
using Abpa3.Web.Tests.Peers;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Scans;

/// <summary>
/// Scans across real paired nodes (Kestrel, SQLite, TLS Akka.Remote on loopback): the assembled result is
/// byte-exact whatever fails on the way: a sensor stopping mid-scan, all of them gone, the manager restarting.
/// </summary>
public sealed class ScanSpecs : IAsyncLifetime
{
    private TestNode _manager = null!;
    private readonly List<TestNode> _sensors = [];
    private readonly List<string> _sensorDirs = [];
    private string _token = "";

    /// <summary>
    /// A segment is read when its rows are due at the scan's rate, not on a polling tick: with the tick set to an hour
    /// every scan here must still finish in seconds.
    /// </summary>
    private static readonly Dictionary<string, string> SensorSettings = new() { ["abpa3.sensor.tick"] = "1h" };

    public async Task InitializeAsync()
    {
        _manager = await TestNode.StartAsync();
        await _manager.SetupOwnerAsync();
        _token = await _manager.LoginAsync();
        for (var i = 0; i < 2; i++)
        {
            var dir = Path.Combine(Path.GetTempPath(), "abpa3-scan-sensor-" + Guid.NewGuid().ToString("N"));
            _sensorDirs.Add(dir);
            var sensor = await TestNode.StartAsync(SensorSettings, dataDir: dir);
            _sensors.Add(sensor);
            var paired = await _manager.PostJsonAsync("/api/devices/pair/initiate",
                new { target_ip = $"127.0.0.1:{sensor.Node.HttpUrl.Port}", setup_code = sensor.SetupCode }, _token);
            Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
        }
        foreach (var sensor in _sensors)
            await PeerPairingSpecs.AssertEventuallyOnlineAsync(_manager, _token, Id(sensor), "sensor");
    }

    public async Task DisposeAsync()
    {
        foreach (var sensor in _sensors)
            await sensor.DisposeAsync();
        await _manager.DisposeAsync();
        foreach (var dir in _sensorDirs.Where(Directory.Exists))
            Directory.Delete(dir, recursive: true);
    }

    private static string Id(TestNode node) => node.Node.Identity.DeviceId.Value;

    private async Task<string> StartAsync(object parameters, string[]? sensors = null)
    {
        var response = await _manager.PostJsonAsync("/api/scans", sensors is null ? new { @params = parameters } : new { sensors, @params = parameters }, _token);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, text);
        return JsonNode.Parse(text)!["scan_id"]!.GetValue<string>();
    }

    private async Task<JsonObject> ScanAsync(string id) => await TestNode.ReadJsonAsync(await _manager.GetAsync($"/api/scans/{id}", _token));

    private async Task<JsonObject> WaitForAsync(string id, Func<JsonObject, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        var scan = await ScanAsync(id);
        while (!condition(scan) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            scan = await ScanAsync(id);
        }
        Assert.True(condition(scan), scan.ToJsonString());
        return scan;
    }

    private static bool Is(JsonObject scan, string state) => scan["state"]!.GetValue<string>() == state;

    private async Task AssertExactResultAsync(string id, int width, int height, int segments, long seed)
    {
        var response = await _manager.GetAsync($"/api/scans/{id}/data", _token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var expected = new SimulatedDriver().ReadRows(new ScanParameters(width, height, segments, seed, 1), 0, height);
        Assert.Equal(expected, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_scan_across_two_sensors_completes_with_the_exact_result()
    {
        var id = await StartAsync(new { width = 40, height = 60, segments = 6, seed = 11, rows_per_second = 600 });
        // With its sensors online, a scan that is just starting says running, never paused.
        Assert.NotEqual("paused", (await ScanAsync(id))["state"]!.GetValue<string>());
        var scan = await WaitForAsync(id, s => Is(s, "completed"));
        Assert.Equal(1.0, scan["progress"]!.GetValue<double>());
        // Both sensors did work.
        Assert.All(scan["sensors"]!.AsArray(), s => Assert.True(s!["segments_done"]!.GetValue<int>() > 0, scan.ToJsonString()));
        await AssertExactResultAsync(id, 40, 60, 6, 11);
        var list = await TestNode.ReadJsonAsync(await _manager.GetAsync("/api/scans", _token));
        Assert.Contains(list["scans"]!.AsArray(), s => s!["scan_id"]!.GetValue<string>() == id);
    }

    [Fact]
    public async Task A_sensor_that_stops_mid_scan_has_its_segments_moved_and_the_result_is_still_exact()
    {
        await using var watcher = await RawSocket.ConnectAsync(_manager);
        await watcher.SendJsonAsync(new { type = "auth", access_token = _token });
        await watcher.ReceiveTypeAsync("welcome");
        await watcher.SendJsonAsync(new { type = "subscribe", topics = new[] { "scans" } });
        await Task.Delay(200);

        var id = await StartAsync(new { width = 16, height = 80, segments = 8, seed = 5, rows_per_second = 40 });
        await WaitForAsync(id, s => s["progress"]!.GetValue<double>() > 0);
        var leaving = _sensors[0];
        await leaving.Node.DisposeAsync();

        var scan = await WaitForAsync(id, s => Is(s, "completed"), TimeSpan.FromSeconds(60));
        Assert.All(scan["segments"]!.AsArray(), s => Assert.Equal("done", s!["state"]!.GetValue<string>()));
        await AssertExactResultAsync(id, 16, 80, 8, 5);

        // Every segment was counted once, and the move was announced.
        var segments = new List<int>();
        var changes = new List<string>();
        while (!changes.Contains("completed"))
        {
            var e = await watcher.ReceiveTypeAsync("event");
            var data = e["data"]!;
            if (data["scan_id"]!.GetValue<string>() != id)
                continue;
            var change = data["change"]!.GetValue<string>();
            changes.Add(change);
            if (change == "segment")
                segments.Add(data["segment"]!.GetValue<int>());
        }
        Assert.Equal(Enumerable.Range(0, 8), segments.Order());
        Assert.Contains("reassigned", changes);
    }

    [Fact]
    public async Task With_every_sensor_gone_the_scan_pauses_and_resumes_when_one_returns()
    {
        var id = await StartAsync(new { width = 8, height = 40, segments = 4, seed = 9, rows_per_second = 10 });
        foreach (var sensor in _sensors)
            await sensor.Node.DisposeAsync();
        await WaitForAsync(id, s => Is(s, "paused"));

        // One sensor comes back on its own data directory: no pairing again, and the scan goes on.
        var back = await TestNode.StartAsync(SensorSettings, dataDir: _sensorDirs[0]);
        _sensors[0] = back;
        await WaitForAsync(id, s => Is(s, "running") || Is(s, "completed"));
        await WaitForAsync(id, s => Is(s, "completed"), TimeSpan.FromSeconds(60));
        await AssertExactResultAsync(id, 8, 40, 4, 9);
    }

    [Fact]
    public async Task A_manager_restart_mid_scan_resumes_it_from_the_journal()
    {
        var id = await StartAsync(new { width = 16, height = 60, segments = 6, seed = 3, rows_per_second = 30 });
        await WaitForAsync(id, s => s["progress"]!.GetValue<double>() > 0);
        var dir = _manager.DataDir;
        await _manager.Node.DisposeAsync();
        _manager = await TestNode.StartAsync(dataDir: dir);
        _token = await _manager.LoginAsync();

        await WaitForAsync(id, s => Is(s, "completed"), TimeSpan.FromSeconds(60));
        await AssertExactResultAsync(id, 16, 60, 6, 3);
    }

    [Fact]
    public async Task Cancel_stops_a_scan_at_any_stage_and_is_idempotent()
    {
        var id = await StartAsync(new { width = 8, height = 100, segments = 4, seed = 1, rows_per_second = 5 });
        var cancelled = await TestNode.ReadJsonAsync(await _manager.PostJsonAsync($"/api/scans/{id}/cancel", new { }, _token));
        Assert.Equal("cancelled", cancelled["state"]!.GetValue<string>());
        Assert.Equal("cancelled", (await TestNode.ReadJsonAsync(await _manager.PostJsonAsync($"/api/scans/{id}/cancel", new { }, _token)))["state"]!.GetValue<string>());
        await TestNode.AssertProblemAsync(await _manager.GetAsync($"/api/scans/{id}/data", _token), 409);
        await Task.Delay(500);
        Assert.Equal("cancelled", (await ScanAsync(id))["state"]!.GetValue<string>());

        // A completed scan stays completed when cancelled late.
        var done = await StartAsync(new { width = 8, height = 8, segments = 2, seed = 1, rows_per_second = 1000 });
        await WaitForAsync(done, s => Is(s, "completed"));
        Assert.Equal("completed", (await TestNode.ReadJsonAsync(await _manager.PostJsonAsync($"/api/scans/{done}/cancel", new { }, _token)))["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancelling_a_scan_lets_the_segments_queued_behind_it_on_the_same_sensors_run()
    {
        // Each sensor holds one 20 s segment of the slow scan, and behind it one segment of the quick one.
        var slow = await StartAsync(new { width = 8, height = 200, segments = 2, seed = 2, rows_per_second = 5 });
        await WaitForAsync(slow, s => s["sensors"]!.AsArray().All(x => x!["segments_assigned"]!.GetValue<int>() == 1));
        var quick = await StartAsync(new { width = 8, height = 8, segments = 2, seed = 4, rows_per_second = 1000 });
        await WaitForAsync(quick, s => s["sensors"]!.AsArray().Sum(x => x!["segments_assigned"]!.GetValue<int>()) == 2);

        Assert.Equal("cancelled", (await TestNode.ReadJsonAsync(await _manager.PostJsonAsync($"/api/scans/{slow}/cancel", new { }, _token)))["state"]!.GetValue<string>());

        await WaitForAsync(quick, s => Is(s, "completed"), TimeSpan.FromSeconds(15));
        await AssertExactResultAsync(quick, 8, 8, 2, 4);
    }

    [Fact]
    public async Task Bad_scan_requests_get_clear_errors()
    {
        await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/scans", new { @params = new { } }), 401);
        var unknown = await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/scans", new { sensors = new[] { "no-such-sensor" }, @params = new { } }, _token), 422);
        Assert.NotNull(unknown["errors"]!["sensors"]);
        await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/scans", new { sensors = Array.Empty<string>(), @params = new { } }, _token), 422);
        var invalid = await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/scans",
            new { @params = new { width = 2000, segments = 0, rows_per_second = "fast" } }, _token), 422);
        Assert.NotNull(invalid["errors"]!["params.width"]);
        await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/scans", new { @params = new { width = 1024, height = 1024, segments = 1 } }, _token), 422);
        var malformed = new HttpRequestMessage(HttpMethod.Post, "/api/scans") { Content = new StringContent("{\"params\":", System.Text.Encoding.UTF8, "application/json") };
        malformed.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _token);
        await TestNode.AssertProblemAsync(await _manager.Http.SendAsync(malformed), 400);
        await TestNode.AssertProblemAsync(await _manager.GetAsync("/api/scans/nope", _token), 404);
        await TestNode.AssertProblemAsync(await _manager.GetAsync("/api/scans/..%2F..%2Fetc/data", _token), 404);
        await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/scans/nope/cancel", new { }, _token), 404);

        // A sensor is not a manager.
        var sensorToken = await _sensors[0].LoginAsync();
        await TestNode.AssertProblemAsync(await _sensors[0].PostJsonAsync("/api/scans", new { @params = new { } }, sensorToken), 409);

        // A scan's data before it completes is a state conflict.
        var slow = await StartAsync(new { width = 8, height = 100, segments = 2, rows_per_second = 5 });
        await TestNode.AssertProblemAsync(await _manager.GetAsync($"/api/scans/{slow}/data", _token), 409);
        // A live view may ask for what has arrived so far.
        var partial = await _manager.GetAsync($"/api/scans/{slow}/data?partial=true", _token);
        Assert.Equal(HttpStatusCode.OK, partial.StatusCode);
        Assert.Equal(800, (await partial.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal("0/2", partial.Headers.GetValues("X-Segments-Done").Single());
    }
}
