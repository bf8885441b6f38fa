using System.Net;
using System.Net.Sockets;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Peers;

/// <summary>Malformed, oversized, unauthenticated, expired, replayed and wrong-state input to the device-pairing endpoints: clear 4xx/5xx-gateway answers, never a 500.</summary>
public sealed class DevicePairingBadInputSpecs : IAsyncLifetime
{
    private TestNode _manager = null!;
    private TestNode _sensor = null!;
    private string _token = "";

    public async Task InitializeAsync()
    {
        _manager = await TestNode.StartAsync();
        _sensor = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.device-pairing.request-permits"] = "1000" });
        await _manager.SetupOwnerAsync();
        _token = await _manager.LoginAsync();
    }

    public async Task DisposeAsync()
    {
        await _sensor.DisposeAsync();
        await _manager.DisposeAsync();
    }

    private string SensorAddress => $"127.0.0.1:{_sensor.Node.HttpUrl.Port}";

    [Fact]
    public async Task Owner_endpoints_need_the_owner()
    {
        await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/devices/discover/manual", new { ip_address = SensorAddress }), 401);
        await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = SensorAddress, setup_code = "12345678" }), 401);
        await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/devices/pair/unlock", new { }), 401);
        await TestNode.AssertProblemAsync(await _manager.GetAsync("/api/devices/x/status"), 401);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not an address at all")]
    [InlineData("http://127.0.0.1:8000")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("127.0.0.1/admin")]
    [InlineData("user@127.0.0.1")]
    public async Task Malformed_addresses_are_refused_before_anything_is_dialled(string address)
    {
        var discover = await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/devices/discover/manual", new { ip_address = address }, _token), 422);
        Assert.NotNull(discover["errors"]!["ip_address"]);
        var initiate = await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = address, setup_code = "12345678" }, _token), 422);
        Assert.NotNull(initiate["errors"]!["target_ip"]);
    }

    [Fact]
    public async Task Bad_setup_codes_and_bodies_are_refused()
    {
        foreach (var code in new[] { "", "1234567", "123456789", "abcdefgh" })
            await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = SensorAddress, setup_code = code }, _token), 422);
        await TestNode.AssertProblemAsync(await Raw(_manager, "/api/devices/pair/initiate", "{oops", _token), 400);
        await TestNode.AssertProblemAsync(await Raw(_manager, "/api/devices/discover/manual", "[1,2]", _token), 400);
        await TestNode.AssertProblemAsync(await Raw(_manager, "/api/devices/discover/manual", "{\"ip_address\":\"" + new string('1', 70_000) + "\"}", _token), 413);
    }

    [Fact]
    public async Task Unreachable_and_silent_hosts_give_gateway_errors_with_a_reason()
    {
        // Nothing listens on a port just released.
        var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var closedPort = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var refused = await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/devices/discover/manual", new { ip_address = $"127.0.0.1:{closedPort}" }, _token), 502);
        Assert.Contains("cannot reach", refused["detail"]!.GetValue<string>());

        // A listener that accepts and never answers: the probe gives up after its timeout (short on this manager only,
        // so the other tests' real pairings keep the default on a busy machine).
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var silentPort = ((IPEndPoint)silent.LocalEndpoint).Port;
        await using var impatient = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.peers.probe-timeout"] = "1s" });
        await impatient.SetupOwnerAsync();
        var impatientToken = await impatient.LoginAsync();
        var timedOut = await TestNode.AssertProblemAsync(await impatient.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = $"127.0.0.1:{silentPort}", setup_code = "12345678" }, impatientToken), 504);
        Assert.Contains("no answer", timedOut["detail"]!.GetValue<string>());

        // Something that answers HTTP but is no mesh device.
        await using var other = await TamperingRelay.StartAsync(new Uri("http://127.0.0.1:1/"), onRequest: null);
        Assert.True((int)(await _manager.PostJsonAsync("/api/devices/discover/manual", new { ip_address = other.Address }, _token)).StatusCode is 502);
    }

    [Fact]
    public async Task Wrong_state_pairings_are_refused()
    {
        // A device cannot pair with itself.
        var self = await _manager.PostJsonAsync("/api/devices/discover/manual", new { ip_address = $"127.0.0.1:{_manager.Node.HttpUrl.Port}" }, _token);
        var selfBody = await TestNode.ReadJsonAsync(self);
        Assert.False(selfBody["can_pair"]!.GetValue<bool>());
        await TestNode.AssertProblemAsync(await _manager.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = $"127.0.0.1:{_manager.Node.HttpUrl.Port}", setup_code = _manager.SetupCode }, _token), 409);

        Assert.Equal(HttpStatusCode.OK, (await _manager.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = SensorAddress, setup_code = _sensor.SetupCode }, _token)).StatusCode);

        // The sensor is a sensor now: it cannot manage, and another manager cannot take it.
        var sensorToken = await _sensor.LoginAsync();
        await TestNode.AssertProblemAsync(await _sensor.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = $"127.0.0.1:{_manager.Node.HttpUrl.Port}", setup_code = _manager.SetupCode }, sensorToken), 409);
        await using var rival = await TestNode.StartAsync();
        await rival.SetupOwnerAsync();
        var rivalToken = await rival.LoginAsync();
        var discover = await TestNode.ReadJsonAsync(await rival.PostJsonAsync("/api/devices/discover/manual", new { ip_address = SensorAddress }, rivalToken));
        Assert.False(discover["can_pair"]!.GetValue<bool>());
        Assert.Contains("paired", discover["reason"]!.GetValue<string>());
        await TestNode.AssertProblemAsync(await rival.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = SensorAddress, setup_code = _sensor.SetupCode }, rivalToken), 409);

        // Its own manager may pair again (renewing the keys), and the link comes back.
        Assert.Equal(HttpStatusCode.OK, (await _manager.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = SensorAddress, setup_code = _sensor.SetupCode }, _token)).StatusCode);
        await PeerPairingSpecs.AssertEventuallyOnlineAsync(_manager, _token, _sensor.Node.Identity.DeviceId.Value, "sensor");
    }

    [Fact]
    public async Task The_handshake_endpoints_refuse_malformed_replayed_and_expired_steps()
    {
        await TestNode.AssertProblemAsync(await Raw(_sensor, "/api/devices/pair/request", "{\"manager_id\":1}"), 400);
        var missing = await TestNode.AssertProblemAsync(await _sensor.PostJsonAsync("/api/devices/pair/request", new { manager_id = "m-1" }), 422);
        Assert.NotNull(missing["errors"]!["round1"]);
        var confirm = await TestNode.AssertProblemAsync(await _sensor.PostJsonAsync("/api/devices/pair/confirm",
            new { attempt_id = new string('0', 32), manager_remote_address = "akka.tcp://other@h:1" }), 422);
        Assert.NotNull(confirm["errors"]!["manager_remote_address"]);

        // A real first step, captured; its attempt is used up by the real second step, and replaying either fails.
        await using var relay = await TamperingRelay.StartAsync(_sensor.Node.HttpUrl);
        Assert.Equal(HttpStatusCode.OK, (await _manager.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = relay.Address, setup_code = _sensor.SetupCode }, _token)).StatusCode);
        var recorded = relay.Captured.Select(b => System.Text.Encoding.UTF8.GetString(b)).ToArray();
        var firstStep = recorded.Single(t => t.Contains("\"manager_id\""));
        var secondStep = recorded.Single(t => t.Contains("\"manager_remote_address\""));
        var confirmReplay = await Raw(_sensor, "/api/devices/pair/confirm", secondStep);
        // The target is paired to this manager now; the replayed step names an attempt that no longer exists.
        await TestNode.AssertProblemAsync(confirmReplay, 410);

        // An attempt left open past its lifetime is gone.
        var first = firstStep;
        var answer = await _sensor.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/api/devices/pair/request")
            { Content = new StringContent(first, System.Text.Encoding.UTF8, "application/json") });
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        var attemptId = (await TestNode.ReadJsonAsync(answer))["attempt_id"]!.GetValue<string>();
        _sensor.Clock.Advance(TimeSpan.FromMinutes(1));
        var late = System.Text.Json.Nodes.JsonNode.Parse(secondStep)!.AsObject();
        late["attempt_id"] = attemptId;
        await TestNode.AssertProblemAsync(await Raw(_sensor, "/api/devices/pair/confirm", late.ToJsonString()), 410);
    }

    [Fact]
    public async Task Random_bodies_never_get_a_server_error()
    {
        var random = new Random(4243);
        string[] paths = ["/api/devices/pair/request", "/api/devices/pair/confirm", "/api/devices/discover/manual", "/api/devices/pair/initiate"];
        string[] fragments = ["{", "}", "[", "]", "\"round1\":", "\"round2\":", "\"confirmation\":", "\"gx1\":\"AAAA\"", "\"participant_id\":\"x\"",
            "\"attempt_id\":\"" + new string('a', 32) + "\"", ",", "null", "1e999", "\"\\u0000\"", "\"proof_x1\":[\"AQ==\"]", "true", "\"target_ip\":\"127.0.0.1:1\""];
        for (var i = 0; i < 120; i++)
        {
            var body = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => fragments[random.Next(fragments.Length)]));
            foreach (var path in paths)
            {
                var node = path.Contains("request") || path.Contains("confirm") ? _sensor : _manager;
                var response = await Raw(node, path, body, node == _manager ? _token : null);
                Assert.True((int)response.StatusCode < 500 || response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout,
                    $"{path} {body} → {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }
    }

    private static Task<HttpResponseMessage> Raw(TestNode node, string path, string body, string? token = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        if (token is not null)
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return node.Http.SendAsync(request);
    }
}
