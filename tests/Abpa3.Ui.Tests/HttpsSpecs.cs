using Abpa3.Ui.Tests.Support;
using Microsoft.Playwright;
using static Abpa3.Ui.Tests.Support.Ui;
using static Microsoft.Playwright.Assertions;

namespace Abpa3.Ui.Tests;

/// <summary>
/// The UI as a node serves it by default: over HTTPS with the device's own certificate, the live channel over wss,
/// under the same self-only CSP. (The other browser tests use plain HTTP on loopback.)
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class HttpsSpecs(BrowserFixture browser) : IAsyncLifetime
{
    private UiNode _node = null!;

    public async Task InitializeAsync() => _node = await UiNode.StartAsync("Secure node", plainHttp: false);

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task Over_the_nodes_own_https_the_ui_sets_up_and_goes_live_over_wss()
    {
        Assert.Equal("https", _node.Node.HttpUrl.Scheme);
        await using var ui = await browser.OpenAsync(nameof(HttpsSpecs), acceptAnyCertificate: true);
        await ui.StepsAsync(async () =>
        {
            var page = ui.Page;
            var sockets = new List<string>();
            page.WebSocket += (_, socket) => sockets.Add(socket.Url);
            await page.GotoAsync(_node.Url);
            await page.GetByRole(AriaRole.Button, new() { Name = "This is my device — continue" }).ClickAsync();
            await page.GetByLabel("Setup code").FillAsync(_node.SetupCode);
            await page.GetByLabel("Owner username").FillAsync("owner");
            await page.GetByLabel("Password", new() { Exact = true }).FillAsync(UiNode.OwnerPassword);
            await page.GetByLabel("Repeat the password").FillAsync(UiNode.OwnerPassword);
            await page.GetByRole(AriaRole.Button, new() { Name = "Claim device" }).ClickAsync();

            await Expect(page.Locator("[data-field=cert] .fingerprint")).ToHaveAttributeAsync("title", _node.CertSha256);
            await Expect(page.Locator("#live")).ToHaveAttributeAsync("data-state", "live");
            Assert.Contains(sockets, url => url.StartsWith($"wss://127.0.0.1:{_node.Node.HttpUrl.Port}/ws", StringComparison.Ordinal));
            await Nav(page, "Clients").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Show a pairing code" }).ClickAsync();
            var payload = await page.Locator("#qr-payload").TextContentAsync();
            Assert.Contains("\"tls\":true", payload);
            Assert.Contains($"\"cert_sha256\":\"{_node.CertSha256}\"", payload);
            await ui.ScreenshotAsync("https-clients");
            ui.AssertClean();
        });
    }
}
