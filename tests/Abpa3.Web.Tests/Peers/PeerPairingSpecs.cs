using System.Net;
using System.Text.Json.Nodes;
using Abpa3.Actors.Peers;
using Abpa3.Web.Http;
using Abpa3.Web.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Abpa3.Web.Tests.Peers;

/// <summary>
/// Device pairing between two real nodes (Kestrel, SQLite, TLS Akka.Remote on loopback): discover, pair with
/// the target's setup code, then signed traffic both ways over the peer link.
/// </summary>
public sealed class PeerPairingSpecs : IAsyncLifetime
{
    private TestNode _manager = null!;
    private TestNode _sensor = null!;
    private string _token = "";

    public async Task InitializeAsync()
    {
        _manager = await TestNode.StartAsync();
        // Each pairing attempt is two handshake requests; leave room for the lockout test's six attempts.
        _sensor = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.device-pairing.request-permits"] = "100" });
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
    public async Task Discover_describes_the_device_and_says_it_can_pair()
    {
        var response = await _manager.PostJsonAsync("/api/devices/discover/manual", new { ip_address = SensorAddress }, _token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await TestNode.ReadJsonAsync(response);
        Assert.True(body["discovered"]!.GetValue<bool>());
        Assert.True(body["can_pair"]!.GetValue<bool>());
        Assert.Equal(_sensor.Node.Identity.DeviceId.Value, body["device"]!["device_id"]!.GetValue<string>());
        Assert.Equal("unconfigured", body["device"]!["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pairing_an_unconfigured_sensor_makes_both_paired_and_the_link_carries_signed_traffic_both_ways()
    {
        var response = await _manager.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = SensorAddress, setup_code = _sensor.SetupCode }, _token);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var body = JsonNode.Parse(text)!;
        Assert.Equal("paired", body["status"]!.GetValue<string>());
        Assert.Equal("manager", body["relationship"]!.GetValue<string>());
        Assert.Equal("paired", body["device"]!["state"]!.GetValue<string>());
        Assert.Equal(_manager.Node.Identity.DeviceId.Value, body["device"]!["manager_device_id"]!.GetValue<string>());

        // The manager is paired as manager; the sensor received the owner's account (hash only) and can be logged into.
        var managerInfo = await TestNode.ReadJsonAsync(await _manager.GetAsync("/api/devices/info"));
        Assert.Equal(("paired", true), (managerInfo["state"]!.GetValue<string>(), managerInfo["is_manager"]!.GetValue<bool>()));
        var sensorToken = await _sensor.LoginAsync();

        // Both sides see each other online over the authenticated heartbeats.
        await AssertEventuallyOnlineAsync(_manager, _token, _sensor.Node.Identity.DeviceId.Value, "sensor");
        await AssertEventuallyOnlineAsync(_sensor, sensorToken, _manager.Node.Identity.DeviceId.Value, "manager");

        // A ping is a signed round trip in each direction.
        var there = await PingAsync(_manager, _sensor.Node.Identity.DeviceId.Value);
        var back = await PingAsync(_sensor, _manager.Node.Identity.DeviceId.Value);
        Assert.True(there > TimeSpan.Zero && back > TimeSpan.Zero);
        var managerCounters = _manager.Node.Services.GetRequiredService<PeerLinkCounters>();
        var sensorCounters = _sensor.Node.Services.GetRequiredService<PeerLinkCounters>();
        Assert.True(managerCounters.Accepted > 0 && sensorCounters.Accepted > 0, $"{managerCounters} / {sensorCounters}");
        // The target starts its side of the link as soon as it has committed, which can be a moment before the
        // manager has its proxy: such a heartbeat is dropped as from an unknown sender. Nothing else may be dropped.
        var metrics = await (await _manager.GetAsync("/metrics")).Content.ReadAsStringAsync();
        Assert.Contains("abpa3_peers{presence=\"online\"} 1", metrics);
        Assert.Matches(@"abpa3_peer_envelopes_total\{result=""accepted""\} [1-9]", metrics);
        Assert.Contains("abpa3_peer_envelopes_total{result=\"bad_mac\"} 0", metrics);
        Assert.DoesNotContain(_sensor.Node.Identity.DeviceId.Value, metrics);
        foreach (var counters in new[] { managerCounters, sensorCounters })
            Assert.Equal((0L, 0L, 0L, 0L, 0L, 0L), (counters.Malformed, counters.NotForUs, counters.BadMac, counters.Stale, counters.Replayed, counters.BadPayload));
    }

    [Fact]
    public async Task The_owners_browser_sees_the_sensor_pair_come_online_and_go_offline_on_the_devices_topic()
    {
        await using var browser = await RawSocket.ConnectAsync(_manager);
        await browser.SendJsonAsync(new { type = "auth", access_token = _token });
        await browser.ReceiveTypeAsync("welcome");
        await browser.SendJsonAsync(new { type = "subscribe", topics = new[] { "devices" } });
        await Task.Delay(200);

        var response = await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = SensorAddress, setup_code = _sensor.SetupCode }, _token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sensorId = _sensor.Node.Identity.DeviceId.Value;
        var changes = new List<string>();
        async Task ExpectAsync(string change)
        {
            while (!changes.Contains(change))
            {
                var e = await browser.ReceiveTypeAsync("event");
                Assert.Equal(sensorId, e["data"]!["device_id"]!.GetValue<string>());
                changes.Add(e["data"]!["change"]!.GetValue<string>());
            }
        }
        await ExpectAsync("online");
        await ExpectAsync("paired");
        // Pending first; the sensor's first heartbeat may complete the pairing before the manager's own
        // answer does, so "online" and "paired" come in either order, and nothing flickers offline.
        Assert.Equal("pending", changes[0]);
        Assert.Equal(["online", "paired"], changes[1..].Order());

        // The sensor stops: the manager stops hearing it and says so, without anyone polling.
        await _sensor.Node.DisposeAsync();
        await ExpectAsync("offline");
    }

    [Fact]
    public async Task Five_wrong_codes_lock_pairing_until_the_owner_unlocks_it()
    {
        var wrong = _sensor.SetupCode == "00000000" ? "11111111" : "00000000";
        for (var i = 1; i <= 5; i++)
        {
            var response = await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = SensorAddress, setup_code = wrong }, _token);
            var problem = await TestNode.AssertProblemAsync(response, 403);
            Assert.Contains("wrong setup code", problem["detail"]!.GetValue<string>());
        }
        // Locked: even the right code is refused now, before any key exchange.
        var locked = await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = SensorAddress, setup_code = _sensor.SetupCode }, _token);
        var body = await TestNode.AssertProblemAsync(locked, 409);
        Assert.Contains("locked", body["detail"]!.GetValue<string>());
        var devices = await TestNode.ReadJsonAsync(await _manager.GetAsync("/api/devices", _token));
        Assert.Empty(devices["devices"]!.AsArray());

        // The sensor's owner unlocks it (here the sensor is claimed first, so it has an owner to do so).
        await _sensor.SetupOwnerAsync("sensor-owner");
        var sensorToken = await _sensor.LoginAsync("sensor-owner");
        Assert.Equal(HttpStatusCode.OK, (await _sensor.PostJsonAsync("/api/devices/pair/unlock", new { }, sensorToken)).StatusCode);
        var paired = await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = SensorAddress, setup_code = _sensor.SetupCode }, _token);
        Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
    }

    [Fact]
    public async Task Revoking_the_sensor_cuts_the_link_and_it_stays_offline()
    {
        var response = await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = SensorAddress, setup_code = _sensor.SetupCode }, _token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sensorId = _sensor.Node.Identity.DeviceId.Value;
        await AssertEventuallyOnlineAsync(_manager, _token, sensorId, "sensor");
        var sensorToken = await _sensor.LoginAsync();
        await AssertEventuallyOnlineAsync(_sensor, sensorToken, _manager.Node.Identity.DeviceId.Value, "manager");

        Assert.Equal(HttpStatusCode.OK, (await _manager.DeleteAsync($"/api/devices/{sensorId}", _token)).StatusCode);

        // The sensor stops hearing the manager: its side of the link goes offline and stays so.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        JsonObject? entry = null;
        while (DateTime.UtcNow < deadline)
        {
            entry = await EntryAsync(_sensor, sensorToken, _manager.Node.Identity.DeviceId.Value);
            if (entry?["online"]!.GetValue<bool>() == false)
                break;
            await Task.Delay(100);
        }
        Assert.False(entry!["online"]!.GetValue<bool>());
        await Task.Delay(1500);
        Assert.False((await EntryAsync(_sensor, sensorToken, _manager.Node.Identity.DeviceId.Value))!["online"]!.GetValue<bool>());
        var managerEntry = await EntryAsync(_manager, _token, sensorId);
        Assert.True(managerEntry!["revoked"]!.GetValue<bool>());
        Assert.False(managerEntry["online"]!.GetValue<bool>());
        Assert.False(_manager.Node.Services.GetRequiredService<Abpa3.Actors.Remoting.PeerCertificatePins>().IsPinned(_sensor.Node.Identity.CertSha256));
        var managerInfo = await TestNode.ReadJsonAsync(await _manager.GetAsync("/api/devices/info"));
        Assert.Equal("configured", managerInfo["state"]!.GetValue<string>());
    }

    internal static async Task<JsonObject?> EntryAsync(TestNode node, string token, string deviceId)
    {
        var response = await node.GetAsync("/api/devices", token);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}\n"
            + string.Join("\n", node.Logs.Lines.Where(l => !l.Contains("Debug")).TakeLast(40)));
        var devices = await TestNode.ReadJsonAsync(response);
        return devices["devices"]!.AsArray().Select(d => d!.AsObject()).FirstOrDefault(d => d["device_id"]!.GetValue<string>() == deviceId);
    }

    internal static async Task AssertEventuallyOnlineAsync(TestNode node, string token, string deviceId, string role)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        JsonObject? entry = null;
        while (DateTime.UtcNow < deadline)
        {
            entry = await EntryAsync(node, token, deviceId);
            if (entry?["online"]!.GetValue<bool>() == true)
                break;
            await Task.Delay(100);
        }
        Assert.NotNull(entry);
        Assert.True(entry!["online"]!.GetValue<bool>(), string.Join("\n", node.Logs.Lines.Where(l => l.Contains("ssoc") || l.Contains("uarant") || l.Contains("Peer") || l.Contains("Link"))));
        Assert.Equal(("peer", role, true), (entry!["kind"]!.GetValue<string>(), entry["role"]!.GetValue<string>(), entry["online"]!.GetValue<bool>()));
        Assert.NotNull(entry["last_seen"]);
    }

    internal static async Task<TimeSpan> PingAsync(TestNode node, string peerId)
    {
        var gateway = node.Node.Services.GetRequiredService<DeviceGateway>();
        var reply = (PeerProxyProtocol.PingReply)await gateway.AskAsync(new PeerProxyProtocol.Ping(peerId), CancellationToken.None);
        return reply.RoundTrip;
    }
}
