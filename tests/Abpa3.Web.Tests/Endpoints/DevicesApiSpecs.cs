using System.Net;
using System.Security.Cryptography;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Endpoints;

public class DevicesApiSpecs
{
    [Fact]
    public async Task Device_info_describes_the_device_and_holds_no_secrets()
    {
        await using var node = await TestNode.StartAsync();

        var response = await node.GetAsync("/api/devices/info");
        var text = await response.Content.ReadAsStringAsync();
        var info = await TestNode.ReadJsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(
            ["cert_sha256", "device_id", "ip_address", "is_manager", "manager_device_id", "name", "serial_number", "state"],
            info.Select(p => p.Key).Order());
        var identity = node.Node.Identity;
        Assert.Equal(identity.DeviceId.Value, info["device_id"]!.GetValue<string>());
        Assert.Equal(identity.SerialNumber, info["serial_number"]!.GetValue<string>());
        Assert.Equal(identity.CertSha256, info["cert_sha256"]!.GetValue<string>());
        Assert.Equal("127.0.0.1", info["ip_address"]!.GetValue<string>());
        Assert.Equal("unconfigured", info["state"]!.GetValue<string>());
        Assert.False(info["is_manager"]!.GetValue<bool>());
        Assert.Null(info["manager_device_id"]);
        Assert.DoesNotContain(node.SetupCode, text);
    }

    [Fact]
    public async Task Https_is_the_default_and_serves_the_certificate_whose_fingerprint_the_device_announces()
    {
        await using var node = await TestNode.StartAsync(plainHttp: false);
        Assert.Equal("https", node.Node.HttpUrl.Scheme);
        string? served = null;
        using var pinned = new HttpClient(new HttpClientHandler
        {
            // What a paired client does: accept exactly the pinned certificate, nothing else.
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                served = Convert.ToHexStringLower(SHA256.HashData(certificate!.RawData));
                return served == node.Node.Identity.CertSha256;
            },
        }) { BaseAddress = node.Node.HttpUrl };

        var info = await TestNode.ReadJsonAsync(await pinned.GetAsync("/api/devices/info"));

        Assert.Equal(served, info["cert_sha256"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_client_pinning_another_certificate_refuses_the_connection()
    {
        await using var node = await TestNode.StartAsync(plainHttp: false);
        using var wrongPin = new HttpClient(new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
                Convert.ToHexStringLower(SHA256.HashData(certificate!.RawData)) == new string('0', 64),
        }) { BaseAddress = node.Node.HttpUrl };

        await Assert.ThrowsAsync<HttpRequestException>(() => wrongPin.GetAsync("/api/devices/info"));
    }

    [Fact]
    public async Task Health_answers_on_loopback()
    {
        await using var node = await TestNode.StartAsync();

        var response = await node.GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", (await TestNode.ReadJsonAsync(response))["status"]!.GetValue<string>());
    }
}
