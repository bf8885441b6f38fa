using System.Net;
using System.Net.Sockets;
using System.Net.Http.Json;
using Abpa3.Client;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Endpoints;

/// <summary>QR codes and <c>POST /api/pair</c>: valid, unexpired, unused tokens only.</summary>
public class PairingApiSpecs
{
    [Fact]
    public async Task The_qr_code_carries_the_seed_fields_and_pins_the_node()
    {
        await using var node = await TestNode.StartAsync(plainHttp: false);
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();

        var response = await TestNode.ReadJsonAsync(await node.PostJsonAsync("/api/pairing/qr", new { }, owner));
        var payload = QrPayload.Parse(response["payload"]!.ToJsonString());

        Assert.Equal(("127.0.0.1", node.Node.HttpUrl.Port, 1, true), (payload.Host, payload.Port, payload.Version, payload.Tls));
        Assert.Equal(node.Node.Identity.CertSha256, payload.CertSha256);
        Assert.Equal(node.Node.Identity.DeviceId.Value, payload.DeviceId);
        Assert.Equal(22, payload.PairToken.Length); // 128 bits, base64url
        Assert.InRange(payload.Expires - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 290, 300);

        var png = await node.GetAsync(response["qr_png"]!.GetValue<string>(), owner);
        Assert.Equal("image/png", png.Content.Headers.ContentType!.MediaType);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4e, 0x47 }, (await png.Content.ReadAsByteArrayAsync())[..4]);
        var svg = await node.GetAsync(response["qr_svg"]!.GetValue<string>(), owner);
        Assert.Contains("<svg", await svg.Content.ReadAsStringAsync());
        await TestNode.AssertProblemAsync(await node.GetAsync(response["qr_png"]!.GetValue<string>()), 401);
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/pairing/qr", new { }), 401);
    }

    [Fact]
    public async Task A_client_pinning_the_qr_fingerprint_refuses_another_node()
    {
        await using var node = await TestNode.StartAsync(plainHttp: false);
        await using var impostor = await TestNode.StartAsync(plainHttp: false);
        await node.SetupOwnerAsync();
        var qr = await TestNode.ReadJsonAsync(await node.PostJsonAsync("/api/pairing/qr", new { }, await node.LoginAsync()));
        var payload = QrPayload.Parse(qr["payload"]!.ToJsonString()) with { Port = impostor.Node.HttpUrl.Port };

        await Assert.ThrowsAsync<HttpRequestException>(() => Pairing.PairAsync(payload, "Phone", "mobile"));
    }

    [Fact]
    public async Task A_token_pairs_once_and_the_key_is_given_once()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        var qr = await TestNode.ReadJsonAsync(await node.PostJsonAsync("/api/pairing/qr", new { }, owner));
        var token = qr["payload"]!["pairToken"]!.GetValue<string>();

        var first = await TestNode.ReadJsonAsync(await node.PostJsonAsync("/api/pair",
            new { pairToken = token, deviceInfo = new { name = "Pixel 7", type = "mobile" } }));
        Assert.Matches("^pixel-7-[0-9a-f]{6}$", first["deviceId"]!.GetValue<string>());
        Assert.Matches("^dev_[A-Za-z0-9_-]{43}$", first["deviceKey"]!.GetValue<string>());

        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/pair",
            new { pairToken = token, deviceInfo = new { name = "Other", type = "mobile" } }), 410);
        var devices = await node.GetAsync("/api/devices", owner);
        Assert.DoesNotContain(first["deviceKey"]!.GetValue<string>(), await devices.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Expired_guessed_and_malformed_tokens_are_refused()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        var qr = await TestNode.ReadJsonAsync(await node.PostJsonAsync("/api/pairing/qr", new { }, owner));
        var token = qr["payload"]!["pairToken"]!.GetValue<string>();
        var device = new { name = "Phone", type = "mobile" };

        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/pair", new { pairToken = "AAAAAAAAAAAAAAAAAAAAAA", deviceInfo = device }), 410);
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/pair", new { pairToken = "short", deviceInfo = device }), 422);
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/pair", new { pairToken = token }), 422);
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/pair",
            new { pairToken = token, deviceInfo = new { name = "Phone", type = "Not A Type!" } }), 422);
        await TestNode.AssertProblemAsync(await node.PostRawAsync("/api/pair", "{\"pairToken\":"), 400);

        node.Clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/pair", new { pairToken = token, deviceInfo = device }), 410);
        await TestNode.AssertProblemAsync(await node.GetAsync(qr["qr_png"]!.GetValue<string>(), owner), 410);
    }

    [Fact]
    public async Task A_thousand_wrong_tokens_from_one_address_are_throttled_and_pairing_from_elsewhere_still_works()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        var qr = await TestNode.ReadJsonAsync(await node.PostJsonAsync("/api/pairing/qr", new { }, owner));

        var statuses = new Dictionary<HttpStatusCode, int>();
        for (var i = 0; i < 1000; i++)
        {
            var guess = Convert.ToBase64String(BitConverter.GetBytes((long)i).Concat(new byte[8]).ToArray()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var status = (await node.PostJsonAsync("/api/pair", new { pairToken = guess, deviceInfo = new { name = "Guess", type = "mobile" } })).StatusCode;
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
        }
        Assert.Equal(20, statuses[HttpStatusCode.Gone]);
        Assert.Equal(980, statuses[HttpStatusCode.TooManyRequests]);

        // The phone pairs from another address on the LAN (here 127.0.0.2): the flood did not lock it out.
        using var elsewhere = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        }) { BaseAddress = node.Node.HttpUrl };
        var paired = await elsewhere.PostAsJsonAsync("/api/pair",
            new { pairToken = qr["payload"]!["pairToken"]!.GetValue<string>(), deviceInfo = new { name = "Phone", type = "mobile" } });
        Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
    }

    [Fact]
    public async Task Only_so_many_pairing_codes_may_be_open_at_once()
    {
        await using var node = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.pairing.max-live-tokens"] = "2" });
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();

        Assert.Equal(HttpStatusCode.OK, (await node.PostJsonAsync("/api/pairing/qr", new { }, owner)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await node.PostJsonAsync("/api/pairing/qr", new { }, owner)).StatusCode);
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/pairing/qr", new { }, owner), 429);
        await TestNode.AssertProblemAsync(await node.GetAsync("/api/pairing/qr/0123456789abcdef.png", owner), 404);
        await TestNode.AssertProblemAsync(await node.GetAsync("/api/pairing/qr/x.gif", owner), 404);
    }
}
