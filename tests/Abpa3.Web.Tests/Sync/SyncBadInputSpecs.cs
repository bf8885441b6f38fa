using System.Net;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Sync;

/// <summary>Unauthenticated, late, oversized, malformed and abusive input on <c>/ws</c>: the SPEC's close codes, and everyone else unharmed.</summary>
public class SyncBadInputSpecs
{
    private static async Task<(TestNode Node, Abpa3.Client.PairedCredentials Phone)> NodeWithPhoneAsync(
        IReadOnlyDictionary<string, string>? overrides = null)
    {
        var node = await TestNode.StartAsync(overrides);
        await node.SetupOwnerAsync();
        return (node, await node.PairClientAsync(await node.LoginAsync()));
    }

    [Fact]
    public async Task Unknown_and_malformed_keys_close_with_4401()
    {
        var (node, _) = await NodeWithPhoneAsync();
        await using (node)
        {
            await using var unknown = await RawSocket.ConnectAsync(node, "dev_" + new string('A', 43));
            Assert.Equal(4401, await unknown.ExpectCloseAsync());
            await using var malformed = await RawSocket.ConnectAsync(node, "not-a-key");
            Assert.Equal(4401, await malformed.ExpectCloseAsync());
            await using var badToken = await RawSocket.ConnectAsync(node);
            await badToken.SendJsonAsync(new { type = "auth", access_token = "eyJ.not.valid" });
            Assert.Equal(4401, await badToken.ExpectCloseAsync());
            await using var garbage = await RawSocket.ConnectAsync(node);
            await garbage.SendAsync("\u0001\u0002 not json");
            Assert.Equal(4401, await garbage.ExpectCloseAsync());
        }
    }

    [Fact]
    public async Task A_socket_that_never_authenticates_closes_with_4408()
    {
        await using var node = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.sync.auth-timeout"] = "500ms" });
        await using var silent = await RawSocket.ConnectAsync(node);

        Assert.Equal(4408, await silent.ExpectCloseAsync());
    }

    [Fact]
    public async Task Malformed_and_unknown_messages_get_errors_and_the_session_goes_on()
    {
        var (node, phone) = await NodeWithPhoneAsync();
        await using (node)
        {
            await using var socket = await RawSocket.ConnectAsync(node, phone.DeviceKey);
            await socket.ReceiveTypeAsync("welcome");

            foreach (var (frame, code) in new[]
                     {
                         ("not json", "malformed"), ("[1,2]", "malformed"), ("{\"no\":\"type\"}", "invalid"),
                         ("{\"type\":\"teleport\"}", "unknown_type"), ("{\"type\":\"subscribe\",\"topics\":\"ui\"}", "invalid"),
                         ("{\"type\":\"subscribe\",\"topics\":[\"weather\"]}", "unknown_topic"),
                         ("{\"type\":\"publish\",\"topic\":\"devices\",\"id\":\"1\",\"data\":{}}", "forbidden_topic"),
                         ("{\"type\":\"publish\",\"topic\":\"ui\",\"data\":{}}", "invalid"),
                         ("{\"type\":\"subscribe\",\"topics\":[\"ui\"],\"since\":{\"ui\":-4}}", "invalid"),
                         ("{\"type\":\"auth\",\"deviceKey\":\"x\"}", "already_authenticated"),
                     })
            {
                await socket.SendAsync(frame);
                var error = await socket.ReceiveTypeAsync("error");
                Assert.Equal(code, error["code"]!.GetValue<string>());
            }
            await socket.SendJsonAsync(new { type = "ping" });
            await socket.ReceiveTypeAsync("pong");
        }
    }

    [Fact]
    public async Task An_oversized_message_closes_with_1009()
    {
        var (node, phone) = await NodeWithPhoneAsync();
        await using (node)
        {
            await using var socket = await RawSocket.ConnectAsync(node, phone.DeviceKey);
            await socket.ReceiveTypeAsync("welcome");

            await socket.SendJsonAsync(new { type = "publish", topic = "ui", id = "big", data = new string('x', 70 * 1024) });

            Assert.Equal(1009, await socket.ExpectCloseAsync());
        }
    }

    [Fact]
    public async Task A_flooding_client_is_closed_with_4429_while_another_keeps_working()
    {
        var (node, phone) = await NodeWithPhoneAsync(new Dictionary<string, string>
        {
            ["abpa3.sync.messages-per-second"] = "5",
            ["abpa3.sync.message-burst"] = "10",
        });
        await using (node)
        {
            var tablet = await node.PairClientAsync(await node.LoginAsync(), "Tablet");
            await using var flood = await RawSocket.ConnectAsync(node, phone.DeviceKey);
            await using var calm = await RawSocket.ConnectAsync(node, tablet.DeviceKey);
            await flood.ReceiveTypeAsync("welcome");
            await calm.ReceiveTypeAsync("welcome");

            for (var i = 0; i < 50; i++)
                await flood.SendJsonAsync(new { type = "ping" });

            Assert.Equal(4429, await flood.ExpectCloseAsync());
            await calm.SendJsonAsync(new { type = "ping" });
            await calm.ReceiveTypeAsync("pong");
        }
    }

    [Fact]
    public async Task A_plain_http_request_to_the_socket_is_a_clear_400()
    {
        await using var node = await TestNode.StartAsync();
        var response = await node.GetAsync("/ws");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await TestNode.AssertProblemAsync(response, 400);
    }
}

public class DevicesTopicSpecs
{
    [Fact]
    public async Task The_owners_browser_sees_pairing_presence_and_revocation_live_on_the_devices_topic()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        await using var browser = await RawSocket.ConnectAsync(node);
        await browser.SendJsonAsync(new { type = "auth", access_token = owner });
        await browser.ReceiveTypeAsync("welcome");
        await browser.SendJsonAsync(new { type = "subscribe", topics = new[] { "devices" } });
        await Task.Delay(200);

        var phone = await node.PairClientAsync(owner);
        await using (var socket = await RawSocket.ConnectAsync(node, phone.DeviceKey))
            await socket.ReceiveTypeAsync("welcome");
        await node.DeleteAsync($"/api/devices/{phone.DeviceId}", owner);

        var changes = new List<string>();
        while (changes.Count < 4)
        {
            var e = await browser.ReceiveTypeAsync("event");
            Assert.Equal("devices", e["topic"]!.GetValue<string>());
            Assert.Equal(phone.DeviceId, e["data"]!["device_id"]!.GetValue<string>());
            Assert.Equal(changes.Count + 1, e["seq"]!.GetValue<long>());
            changes.Add(e["data"]!["change"]!.GetValue<string>());
        }
        Assert.Equal(["paired", "online"], changes[..2]);
        // The socket's end and the revocation race; both are announced, in whichever order they happened.
        Assert.Equal(["offline", "revoked"], changes[2..].Order());
    }
}

public class SyncLimitsSpecs
{
    [Fact]
    public async Task Socket_attempts_are_rate_limited_per_address_and_sessions_per_device()
    {
        await using var node = await TestNode.StartAsync(new Dictionary<string, string>
        {
            ["abpa3.auth.socket-permits"] = "4",
            ["abpa3.sync.max-sessions-per-device"] = "2",
        });
        await node.SetupOwnerAsync();
        var phone = await node.PairClientAsync(await node.LoginAsync());

        await using var first = await RawSocket.ConnectAsync(node, phone.DeviceKey);
        await using var second = await RawSocket.ConnectAsync(node, phone.DeviceKey);
        await first.ReceiveTypeAsync("welcome");
        await second.ReceiveTypeAsync("welcome");
        await using var third = await RawSocket.ConnectAsync(node, phone.DeviceKey);
        Assert.Equal(4429, await third.ExpectCloseAsync());

        await using var fourth = await RawSocket.ConnectAsync(node, phone.DeviceKey); // the fourth attempt this minute
        var refused = await Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => RawSocket.ConnectAsync(node, phone.DeviceKey));
        Assert.Contains("429", refused.Message);
    }

    [Fact]
    public async Task A_browser_session_ends_when_its_access_token_expires()
    {
        await using var node = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.auth.token-lifetime"] = "2s" });
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        await using var browser = await RawSocket.ConnectAsync(node);
        await browser.SendJsonAsync(new { type = "auth", access_token = owner });
        await browser.ReceiveTypeAsync("welcome");

        Assert.Equal(4401, await browser.ExpectCloseAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Revoking_a_client_that_stopped_reading_ends_its_session_on_the_node_at_once()
    {
        await using var node = await TestNode.StartAsync(new Dictionary<string, string>
        {
            ["abpa3.sync.messages-per-second"] = "100000",
            ["abpa3.sync.message-burst"] = "100000",
        });
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        var stuck = await node.PairClientAsync(owner, "Stuck");
        var publisher = await node.PairClientAsync(owner, "Publisher");
        await using var stuckSocket = await RawSocket.ConnectAsync(node, stuck.DeviceKey);
        await stuckSocket.ReceiveTypeAsync("welcome");
        await stuckSocket.SendJsonAsync(new { type = "subscribe", topics = new[] { "ui" } });
        await using var publishing = await RawSocket.ConnectAsync(node, publisher.DeviceKey);
        await publishing.ReceiveTypeAsync("welcome");
        var padding = new string('x', 60 * 1024);
        for (var i = 0; i < 300; i++) // ~18 MB: far more than the socket buffers hold; the stuck client reads nothing
        {
            await publishing.SendJsonAsync(new { type = "publish", topic = "ui", id = $"m{i}", data = new { padding } });
            await publishing.ReceiveTypeAsync("ack");
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await node.DeleteAsync($"/api/devices/{stuck.DeviceId}", owner);

        while (true)
        {
            var list = await TestNode.ReadJsonAsync(await node.GetAsync("/api/devices", owner));
            var entry = list["devices"]!.AsArray().Single(d => d!["device_id"]!.GetValue<string>() == stuck.DeviceId)!;
            if (!entry["online"]!.GetValue<bool>())
                break;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), "the revoked, stuck session is still open on the node");
            await Task.Delay(50);
        }
        await publishing.SendJsonAsync(new { type = "ping" });
        await publishing.ReceiveTypeAsync("pong");
    }
}
