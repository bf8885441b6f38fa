using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Remoting;
using Abpa3.Web.Http;
using Abpa3.Web.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Abpa3.Web.Tests.Peers;

/// <summary>
/// Seed 004's sensor API on a real paired sensor: only its manager, with requests signed over method,
/// path, timestamp, nonce and body; replays, stale and altered requests refused.
/// </summary>
public sealed class SensorApiSpecs : IAsyncLifetime
{
    private TestNode _manager = null!;
    private TestNode _sensor = null!;
    private string _token = "";
    private PairKeys _managerToSensor = null!;
    private PairKeys _sensorToManager = null!;

    private string ManagerId => _manager.Node.Identity.DeviceId.Value;
    private string SensorId => _sensor.Node.Identity.DeviceId.Value;

    public async Task InitializeAsync()
    {
        _manager = await TestNode.StartAsync();
        _sensor = await TestNode.StartAsync();
        await _manager.SetupOwnerAsync();
        _token = await _manager.LoginAsync();
        var paired = await _manager.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = $"127.0.0.1:{_sensor.Node.HttpUrl.Port}", setup_code = _sensor.SetupCode }, _token);
        Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
        _managerToSensor = (await PeerAsync(_manager, SensorId)).Keys();
        _sensorToManager = (await PeerAsync(_sensor, ManagerId)).Keys();
    }

    public async Task DisposeAsync()
    {
        await _sensor.DisposeAsync();
        await _manager.DisposeAsync();
    }

    private static async Task<PeerDevice> PeerAsync(TestNode node, string peerId)
    {
        var gateway = node.Node.Services.GetRequiredService<DeviceGateway>();
        var list = (PairingQueries.PeerList)await gateway.AskAsync(PairingQueries.ListPeers.Instance, CancellationToken.None);
        return list.Peers.Single(p => p.DeviceId == peerId);
    }

    private static HttpRequestMessage Signed(HttpMethod method, string path, string? body, PairKeys keys, string deviceId, TimeProvider? clock = null,
        string? signedPath = null)
    {
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = new ByteArrayContent(bytes) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } };
        foreach (var (name, value) in DeviceRequestSignature.Headers(keys, deviceId, method.Method, signedPath ?? path, bytes, clock ?? TimeProvider.System))
            request.Headers.TryAddWithoutValidation(name, value);
        return request;
    }

    private Task<HttpResponseMessage> FromManager(HttpMethod method, string path, string? body = null) =>
        _sensor.Http.SendAsync(Signed(method, path, body, _managerToSensor, ManagerId));

    [Fact]
    public async Task The_owner_reads_a_sensor_status_through_its_manager()
    {
        var response = await _manager.GetAsync($"/api/devices/{SensorId}/status", _token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var status = await TestNode.ReadJsonAsync(response);
        Assert.Equal((SensorId, "paired", ManagerId, false),
            (status["device_id"]!.GetValue<string>(), status["state"]!.GetValue<string>(), status["manager_device_id"]!.GetValue<string>(),
                status["scanning"]!.GetValue<bool>()));
        // No segment work from the manager yet: nothing queued, nothing waiting for its acknowledgement.
        Assert.Equal((0, 0), (status["segments_queued"]!.GetValue<int>(), status["results_unacknowledged"]!.GetValue<int>()));
        await TestNode.AssertProblemAsync(await _manager.GetAsync("/api/devices/no-such-sensor/status", _token), 404);
    }

    [Fact]
    public async Task The_manager_starts_a_scan_and_watches_it_complete()
    {
        var start = await FromManager(HttpMethod.Post, "/api/sensors/scan/start",
            """{"scan_id":"scan-1","params":{"width":16,"height":40,"segments":4,"seed":7,"rows_per_second":400}}""");
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        Assert.Equal("scan-1", (await TestNode.ReadJsonAsync(start))["scan_id"]!.GetValue<string>());

        JsonObject? last = null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            var status = await TestNode.ReadJsonAsync(await FromManager(HttpMethod.Get, "/api/sensors/status"));
            last = status["last_scan"]!.AsObject();
            if (last["state"]!.GetValue<string>() == "completed")
                break;
            await Task.Delay(50);
        }
        Assert.Equal(("scan-1", "completed", 40, 40),
            (last!["scan_id"]!.GetValue<string>(), last["state"]!.GetValue<string>(), last["rows_done"]!.GetValue<int>(), last["rows_total"]!.GetValue<int>()));
    }

    [Fact]
    public async Task A_replayed_request_is_refused()
    {
        var request = Signed(HttpMethod.Post, "/api/sensors/scan/start", """{"params":{"height":8,"segments":2}}""", _managerToSensor, ManagerId);
        var copy = new HttpRequestMessage(request.Method, request.RequestUri) { Content = new StringContent("""{"params":{"height":8,"segments":2}}""", Encoding.UTF8, "application/json") };
        foreach (var header in request.Headers)
            copy.Headers.TryAddWithoutValidation(header.Key, header.Value);

        Assert.Equal(HttpStatusCode.Accepted, (await _sensor.Http.SendAsync(request)).StatusCode);
        var replay = await TestNode.AssertProblemAsync(await _sensor.Http.SendAsync(copy), 401);
        Assert.Contains("replay", replay["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Unsigned_altered_misdirected_unknown_and_stale_requests_are_refused()
    {
        await TestNode.AssertProblemAsync(await _sensor.GetAsync("/api/sensors/status"), 401);
        await TestNode.AssertProblemAsync(await _sensor.PostJsonAsync("/api/system/shutdown", new { }), 401);

        // The body is covered: the same headers with another body fail.
        var altered = Signed(HttpMethod.Post, "/api/sensors/scan/start", """{"params":{"height":8,"segments":2}}""", _managerToSensor, ManagerId);
        altered.Content = new StringContent("""{"params":{"height":9,"segments":2}}""", Encoding.UTF8, "application/json");
        await TestNode.AssertProblemAsync(await _sensor.Http.SendAsync(altered), 401);

        // The path is covered: a signature for the status cannot shut the device down.
        await TestNode.AssertProblemAsync(await _sensor.Http.SendAsync(
            Signed(HttpMethod.Post, "/api/system/shutdown", null, _managerToSensor, ManagerId, signedPath: "/api/sensors/status")), 401);

        // A device id the sensor does not know, and the right id with a key that is not the pair's.
        await TestNode.AssertProblemAsync(await _sensor.Http.SendAsync(Signed(HttpMethod.Get, "/api/sensors/status", null, _managerToSensor, "stranger-1")), 401);
        var foreign = PairKeys.Derive(new byte[32], ManagerId, SensorId);
        await TestNode.AssertProblemAsync(await _sensor.Http.SendAsync(Signed(HttpMethod.Get, "/api/sensors/status", null, foreign, ManagerId)), 401);

        // Six minutes off the sensor's clock is outside the five-minute window, either way.
        var ahead = new AdjustableClock();
        ahead.Advance(TimeSpan.FromMinutes(6));
        var stale = await TestNode.AssertProblemAsync(await _sensor.Http.SendAsync(
            Signed(HttpMethod.Get, "/api/sensors/status", null, _managerToSensor, ManagerId, ahead)), 401);
        Assert.Contains("window", stale["detail"]!.GetValue<string>());
        // Within the window a skewed clock is fine (THREATS T12).
        var skewed = new AdjustableClock();
        skewed.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(HttpStatusCode.OK, (await _sensor.Http.SendAsync(Signed(HttpMethod.Get, "/api/sensors/status", null, _managerToSensor, ManagerId, skewed))).StatusCode);
    }

    [Fact]
    public async Task A_sensor_cannot_drive_its_manager()
    {
        var response = await _manager.Http.SendAsync(Signed(HttpMethod.Get, "/api/sensors/status", null, _sensorToManager, SensorId));
        await TestNode.AssertProblemAsync(response, 403);
    }

    [Fact]
    public async Task Bad_scan_parameters_get_clear_errors()
    {
        await TestNode.AssertProblemAsync(await FromManager(HttpMethod.Post, "/api/sensors/scan/start", "{not json"), 400);
        var invalid = await TestNode.AssertProblemAsync(await FromManager(HttpMethod.Post, "/api/sensors/scan/start",
            """{"params":{"width":0,"height":5000,"rows_per_second":-1,"colour":"red"}}"""), 422);
        var errors = invalid["errors"]!.AsObject();
        Assert.True(errors.ContainsKey("params.width") && errors.ContainsKey("params.height") && errors.ContainsKey("params.rows_per_second")
                    && errors.ContainsKey("params.colour"), errors.ToJsonString());
        await TestNode.AssertProblemAsync(await FromManager(HttpMethod.Post, "/api/sensors/scan/start", new string('x', 70_000)), 413);

        // One scan at a time: a second start while the first runs is a state conflict.
        Assert.Equal(HttpStatusCode.Accepted,
            (await FromManager(HttpMethod.Post, "/api/sensors/scan/start", """{"params":{"height":100,"segments":1,"rows_per_second":10}}""")).StatusCode);
        await TestNode.AssertProblemAsync(await FromManager(HttpMethod.Post, "/api/sensors/scan/start", "{}"), 409);
    }

    [Fact]
    public async Task Shutdown_from_the_manager_stops_the_sensor()
    {
        var response = await FromManager(HttpMethod.Post, "/api/system/shutdown");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // The node's host is told to stop, as SIGTERM would (the host process then disposes the node).
        await _sensor.Node.WaitForShutdownAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }
}
