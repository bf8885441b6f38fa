using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Abpa3.Actors.Pairing;
using Abpa3.Web.Http;
using Abpa3.Web.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Abpa3.Web.Tests.Peers;

/// <summary>
/// THREATS T4 with a real relay between two real nodes: watching the handshake yields neither the code nor a
/// key nor the owner's password hash; altering it makes pairing fail on both sides, and each altered attempt
/// spends one of the target's five guesses.
/// </summary>
public sealed class PairingRelaySpecs : IAsyncLifetime
{
    private TestNode _manager = null!;
    private TestNode _sensor = null!;
    private string _token = "";

    public async Task InitializeAsync()
    {
        _manager = await TestNode.StartAsync();
        _sensor = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.device-pairing.request-permits"] = "100" });
        await _manager.SetupOwnerAsync();
        _token = await _manager.LoginAsync();
    }

    public async Task DisposeAsync()
    {
        await _sensor.DisposeAsync();
        await _manager.DisposeAsync();
    }

    private Task<HttpResponseMessage> PairThroughAsync(TamperingRelay relay) =>
        _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = relay.Address, setup_code = _sensor.SetupCode }, _token);

    private static IEnumerable<string> Encodings(byte[] secret) =>
        [Convert.ToBase64String(secret), Convert.ToHexString(secret), Convert.ToHexStringLower(secret)];

    [Fact]
    public async Task A_relay_that_only_watches_sees_no_code_no_key_and_no_password_hash()
    {
        await using var relay = await TamperingRelay.StartAsync(_sensor.Node.HttpUrl);
        var response = await PairThroughAsync(relay);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var captured = Encoding.UTF8.GetString(relay.AllBytes());
        Assert.Contains("round1", captured); // the handshake did cross the relay
        Assert.DoesNotContain(_sensor.SetupCode, captured);
        var gateway = _manager.Node.Services.GetRequiredService<DeviceGateway>();
        var peers = (PairingQueries.PeerList)await gateway.AskAsync(PairingQueries.ListPeers.Instance, CancellationToken.None);
        var sensor = peers.Peers.Single();
        foreach (var key in new[] { sensor.OutgoingKey, sensor.IncomingKey })
        foreach (var encoding in Encodings(Convert.FromBase64String(key)))
            Assert.DoesNotContain(encoding, captured);
        var owner = (PairingQueries.UserFound)await gateway.AskAsync(PairingQueries.GetOwner.Instance, CancellationToken.None);
        Assert.DoesNotContain(owner.Account.PasswordHash, captured);
        // Yet the target got the owner account, sealed: the owner's password opens it.
        await _sensor.LoginAsync();
    }

    [Fact]
    public async Task A_relay_that_alters_the_handshake_gets_no_pairing_on_either_side_and_one_guess_per_attempt()
    {
        var alterations = new Func<string, JsonObject, JsonObject>[]
        {
            // Shows the target its own certificate instead of the manager's.
            (path, body) => { if (path.EndsWith("/request")) body["manager_cert_sha256"] = new string('c', 64); return body; },
            // Changes one value of the manager's first round.
            (path, body) => { if (path.EndsWith("/request")) body["round1"]!["gx1"] = Altered(body["round1"]!["gx1"]!.GetValue<string>()); return body; },
            // Changes the manager's second round.
            (path, body) => { if (path.EndsWith("/confirm")) body["round2"]!["a"] = Altered(body["round2"]!["a"]!.GetValue<string>()); return body; },
            // Changes the manager's key confirmation.
            (path, body) => { if (path.EndsWith("/confirm")) body["confirmation"]!["mac_tag"] = Altered(body["confirmation"]!["mac_tag"]!.GetValue<string>()); return body; },
        };
        var statuses = new List<int>();
        foreach (var alter in alterations)
        {
            await using var relay = await TamperingRelay.StartAsync(_sensor.Node.HttpUrl, onRequest: alter);
            statuses.Add((int)(await PairThroughAsync(relay)).StatusCode);
        }
        // Altered first rounds are refused before the target releases anything that depends on the code (no
        // guess spent, the manager reports a failed handshake); altered second rounds fail the code check.
        Assert.Equal([502, 502, 403, 403], statuses);

        // Neither side is paired.
        var devices = await TestNode.ReadJsonAsync(await _manager.GetAsync("/api/devices", _token));
        Assert.Empty(devices["devices"]!.AsArray());
        var info = await TestNode.ReadJsonAsync(await _sensor.GetAsync("/api/devices/info"));
        Assert.Equal("unconfigured", info["state"]!.GetValue<string>());

        // The two that reached the check cost a guess each: after two more wrong codes, one is left; then pairing locks.
        var wrong = _sensor.SetupCode == "00000000" ? "11111111" : "00000000";
        var direct = $"127.0.0.1:{_sensor.Node.HttpUrl.Port}";
        var details = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var response = await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = direct, setup_code = wrong }, _token);
            details.Add((await TestNode.AssertProblemAsync(response, 403))["detail"]!.GetValue<string>());
        }
        Assert.Contains("2 more wrong codes lock pairing", details[0]);
        Assert.Contains("1 more wrong code locks pairing", details[1]);
        Assert.Contains("now locked", details[2]);
        var locked = await _manager.PostJsonAsync("/api/devices/pair/initiate", new { target_ip = direct, setup_code = _sensor.SetupCode }, _token);
        await TestNode.AssertProblemAsync(locked, 409);
    }

    private static string Altered(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        bytes[^1] ^= 1;
        return Convert.ToBase64String(bytes);
    }
}
