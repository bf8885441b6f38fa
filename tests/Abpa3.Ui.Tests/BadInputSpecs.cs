using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Abpa3.Client;
using Abpa3.Ui.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using static Abpa3.Ui.Tests.Support.Ui;

namespace Abpa3.Ui.Tests;

/// <summary>
/// What the owner sees when something is wrong: a wrong setup code, a malformed or unreachable address, a device that
/// is already paired or locked, an expired QR code, a network that fails, an ended session. Always a readable
/// message on the page; never a blank page, a stack trace or an uncaught script error.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class BadInputSpecs(BrowserFixture browser) : IAsyncLifetime
{
    private readonly List<UiNode> _nodes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in _nodes)
            await node.DisposeAsync();
    }

    private async Task<UiNode> StartAsync(string name, IReadOnlyDictionary<string, string>? overrides = null)
    {
        var node = await UiNode.StartAsync(name, overrides);
        _nodes.Add(node);
        return node;
    }

    private static async Task SignInAsync(IPage page, UiNode node)
    {
        await page.GotoAsync(node.Url);
        await page.GetByLabel("Username").FillAsync("owner");
        await page.GetByLabel("Password").FillAsync(UiNode.OwnerPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dashboard" })).ToBeVisibleAsync();
    }

    private static ILocator Alert(IPage page) => page.GetByRole(AriaRole.Alert);

    [Fact]
    public async Task Setup_explains_a_wrong_code_a_short_password_and_differing_passwords()
    {
        var node = await StartAsync("Fresh");
        await using var ui = await browser.OpenAsync(nameof(Setup_explains_a_wrong_code_a_short_password_and_differing_passwords));
        await ui.StepsAsync(async () =>
        {
            var page = ui.Page;
            await page.GotoAsync(node.Url);
            await page.GetByRole(AriaRole.Button, new() { Name = "This is my device — continue" }).ClickAsync();
            var wrong = node.SetupCode == "12345678" ? "87654321" : "12345678";

            await page.GetByLabel("Setup code").FillAsync(wrong);
            await page.GetByLabel("Owner username").FillAsync("owner");
            await page.GetByLabel("Password", new() { Exact = true }).FillAsync(UiNode.OwnerPassword);
            await page.GetByLabel("Repeat the password").FillAsync("something else");
            await page.GetByRole(AriaRole.Button, new() { Name = "Claim device" }).ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Passwords differ");
            await Expect(page.GetByLabel("Repeat the password")).ToHaveAttributeAsync("aria-invalid", "true");

            await page.GetByLabel("Password", new() { Exact = true }).FillAsync("short");
            await page.GetByLabel("Repeat the password").FillAsync("short");
            await page.GetByRole(AriaRole.Button, new() { Name = "Claim device" }).ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Password: 8–128 characters");
            await Expect(page.GetByLabel("Password", new() { Exact = true })).ToHaveAttributeAsync("aria-invalid", "true");

            await page.GetByLabel("Password", new() { Exact = true }).FillAsync(UiNode.OwnerPassword);
            await page.GetByLabel("Repeat the password").FillAsync(UiNode.OwnerPassword);
            await page.GetByRole(AriaRole.Button, new() { Name = "Claim device" }).ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Wrong setup code");
            await Expect(Alert(page)).ToContainTextAsync("Check the code on the device's console");
            await Expect(page.GetByLabel("Setup code")).ToBeFocusedAsync();
            await ui.ScreenshotAsync("setup-wrong-code");

            await page.GetByLabel("Setup code").FillAsync(node.SetupCode);
            await page.GetByRole(AriaRole.Button, new() { Name = "Claim device" }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dashboard" })).ToBeVisibleAsync();
            ui.AssertClean();
        });
    }

    [Fact]
    public async Task Device_pairing_explains_malformed_unreachable_wrong_code_locked_and_already_paired()
    {
        var manager = await StartAsync("Manager");
        var other = await StartAsync("Other manager");
        var fresh = await StartAsync("Sensor A", new Dictionary<string, string> { ["abpa3.device-pairing.max-wrong-codes"] = "2" });
        var taken = await StartAsync("Sensor B");
        await manager.SetupOwnerAsync();
        await other.SetupOwnerAsync();
        await other.PairSensorAsync(await other.LoginAsync(), taken);

        await using var ui = await browser.OpenAsync(nameof(Device_pairing_explains_malformed_unreachable_wrong_code_locked_and_already_paired));
        await ui.StepsAsync(async () =>
        {
            var page = ui.Page;
            await SignInAsync(page, manager);
            await Nav(page, "Devices").ClickAsync();
            var address = page.GetByLabel("Device address");
            var find = page.GetByRole(AriaRole.Button, new() { Name = "Find device" });

            // Malformed: refused by the node before anything is sent anywhere.
            await find.ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Enter an address");
            foreach (var malformed in new[] { "10.0.0.1/24", "not an address", "http://192.168.1.11" })
            {
                await address.FillAsync(malformed);
                await find.ClickAsync();
                await Expect(Alert(page)).ToContainTextAsync("Not a valid address");
                await Expect(page.Locator("#discover-form .field-error")).ToContainTextAsync("give an IP address or host name");
                await Expect(address).ToHaveAttributeAsync("aria-invalid", "true");
            }
            await ui.ScreenshotAsync("malformed-address");

            // Unreachable: a loopback port nobody listens on.
            await address.FillAsync($"127.0.0.1:{ClosedPort()}");
            await find.ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Device not reachable");
            await ui.ScreenshotAsync("unreachable");

            // Already paired with another manager: shown, and no pairing form.
            await address.FillAsync(taken.Address);
            await find.ClickAsync();
            await Expect(page.Locator("#device-details")).ToContainTextAsync("Already paired");
            await Expect(page.Locator("#device-details")).ToContainTextAsync("Device already in state: paired");
            await Expect(page.Locator("#pair-form")).ToHaveCountAsync(0);
            await ui.ScreenshotAsync("already-paired");

            // Wrong codes: the attempts left, then locked.
            await address.FillAsync(fresh.Address);
            await find.ClickAsync();
            var code = page.GetByLabel("Setup code of this device");
            var pair = page.GetByRole(AriaRole.Button, new() { Name = "Pair Sensor A", Exact = true });
            await code.FillAsync("1234");
            await pair.ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("The setup code is 8 digits");
            var wrong = fresh.SetupCode == "11111111" ? "22222222" : "11111111";
            await code.FillAsync(wrong);
            await pair.ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Wrong setup code");
            await Expect(Alert(page)).ToContainTextAsync("1 more wrong code locks pairing");
            await ui.ScreenshotAsync("wrong-device-code");
            await code.FillAsync(wrong);
            await pair.ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Pairing locked");
            await code.FillAsync(fresh.SetupCode);
            await pair.ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Pairing locked");
            await Expect(Alert(page)).ToContainTextAsync("too many wrong setup codes");
            await ui.ScreenshotAsync("locked");
            await Expect(page.Locator("#device-list")).ToContainTextAsync("No device is paired yet");
            ui.AssertClean();
        });
    }

    [Fact]
    public async Task An_expired_pairing_code_says_so_and_a_new_code_pairs()
    {
        var node = await StartAsync("Short codes", new Dictionary<string, string> { ["abpa3.pairing.token-lifetime"] = "3s" });
        await node.SetupOwnerAsync();
        await using var ui = await browser.OpenAsync(nameof(An_expired_pairing_code_says_so_and_a_new_code_pairs));
        await ui.StepsAsync(async () =>
        {
            var page = ui.Page;
            await SignInAsync(page, node);
            await Nav(page, "Clients").ClickAsync();
            await page.GetByRole(AriaRole.Button, new() { Name = "Show a pairing code" }).ClickAsync();
            await Expect(page.Locator("#qr-countdown")).ToHaveTextAsync(new Regex(@"^0:0[0-3]$"));
            var expiredPayload = await page.Locator("#qr-payload").TextContentAsync();

            await Expect(page.Locator("#qr-countdown")).ToHaveTextAsync("Expired", new() { Timeout = 8000 });
            await Expect(page.Locator("#qr-state")).ToContainTextAsync("This code has expired");
            await Expect(page.Locator(".qr")).ToHaveClassAsync(new Regex(@"\bexpired\b"));
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "New code" })).ToBeFocusedAsync();
            await ui.ScreenshotAsync("qr-expired");
            // The payload says when in whole seconds, so the page calls it expired up to a second early; the node
            // refuses it from its exact expiry on.
            await Task.Delay(TimeSpan.FromSeconds(1.1));
            var refused = await Assert.ThrowsAsync<Pairing.PairingFailedException>(
                () => Pairing.PairAsync(QrPayload.Parse(expiredPayload!), "Late phone", "mobile"));
            Assert.Equal(HttpStatusCode.Gone, refused.Status);

            // The image of an expired code is gone too: the page says so instead of showing a broken image.
            await page.RouteAsync("**/api/pairing/qr/*.svg", route => route.FulfillAsync(new()
            {
                Status = 410, ContentType = "application/problem+json",
                Body = """{"status":410,"title":"Expired","detail":"This pairing code has expired; create a new one."}""",
            }));
            await page.GetByRole(AriaRole.Button, new() { Name = "New code" }).ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Code expired");
            await page.UnrouteAllAsync();

            await page.GetByRole(AriaRole.Button, new() { Name = "Show a pairing code" }).ClickAsync();
            await Expect(page.Locator("#qr-countdown")).Not.ToHaveTextAsync("Expired");
            var payload = await page.Locator("#qr-payload").TextContentAsync();
            var credentials = await Pairing.PairAsync(QrPayload.Parse(payload!), "On-time phone", "mobile");
            await Expect(page.Locator($"#client-list tr[data-device='{credentials.DeviceId}']")).ToContainTextAsync("On-time phone");
            ui.AssertClean();
        });
    }

    [Fact]
    public async Task Network_errors_and_a_stopped_node_show_a_message_never_a_blank_page()
    {
        var node = await StartAsync("Flaky");
        await node.SetupOwnerAsync();
        await using var ui = await browser.OpenAsync(nameof(Network_errors_and_a_stopped_node_show_a_message_never_a_blank_page));
        await ui.StepsAsync(async () =>
        {
            var page = ui.Page;
            // Chromium reports the socket it can no longer open once the node is stopped.
            ui.ExpectedConsoleErrors.Add("WebSocket connection to");
            await SignInAsync(page, node);
            await Nav(page, "Devices").ClickAsync();

            // The request never gets through.
            await page.RouteAsync("**/api/devices/discover/manual", route => route.AbortAsync("connectionrefused"));
            await page.GetByLabel("Device address").FillAsync("127.0.0.1:9");
            await page.GetByRole(AriaRole.Button, new() { Name = "Find device" }).ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Cannot reach the node");
            await Expect(Alert(page)).ToContainTextAsync("network error");
            await ui.ScreenshotAsync("network-error");

            // Something between answers with an HTML error page and a stack trace: none of it reaches the screen.
            await page.RouteAsync("**/api/devices", route => route.FulfillAsync(new()
            {
                Status = 500, ContentType = "text/html", Body = "<html><body>System.NullReferenceException at Foo.Bar()</body></html>",
            }));
            await Nav(page, "Clients").ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("The node could not complete this request");
            await Expect(page.Locator("body")).Not.ToContainTextAsync("NullReferenceException");

            // An answer that is not JSON at all.
            await page.RouteAsync("**/api/devices", route => route.FulfillAsync(new() { Status = 200, ContentType = "application/json", Body = "{oops" }));
            await Nav(page, "Devices").ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Unexpected answer");
            await page.UnrouteAllAsync();

            // The node goes away: the live indicator says so, and the next page says the device cannot be reached.
            await node.StopAsync();
            await Expect(page.Locator("#live-text")).ToHaveTextAsync(new Regex("Reconnecting|Connecting"), new() { Timeout = 10_000 });
            await Nav(page, "Dashboard").ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Cannot reach the device" })).ToBeVisibleAsync();
            await Expect(Alert(page)).ToContainTextAsync("Cannot reach the node");
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Try again" })).ToBeVisibleAsync();
            await ui.ScreenshotAsync("node-stopped");
            ui.AssertClean();
        });
    }

    [Fact]
    public async Task A_wrong_password_and_an_ended_session_are_explained()
    {
        var node = await StartAsync("Guarded");
        await node.SetupOwnerAsync();
        await using var ui = await browser.OpenAsync(nameof(A_wrong_password_and_an_ended_session_are_explained));
        await ui.StepsAsync(async () =>
        {
            var page = ui.Page;
            await page.GotoAsync(node.Url);
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Missing details");
            await page.GetByLabel("Username").FillAsync("owner");
            await page.GetByLabel("Password").FillAsync("not the password");
            await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
            await Expect(Alert(page)).ToContainTextAsync("Wrong username or password");
            await ui.ScreenshotAsync("wrong-password");

            await SignInAsync(page, node);
            // The token stops being accepted (expired, or the node's signing key changed): back to sign-in, saying why.
            await page.EvaluateAsync("sessionStorage.setItem('abpa3.access_token', 'eyJhbGciOiJIUzI1NiJ9.e30.invalid')");
            await Nav(page, "Devices").ClickAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
            await Expect(page.Locator("main")).ToContainTextAsync("Your session has ended; sign in again.");
            Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('abpa3.access_token')"));
            ui.AssertClean();
        });
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
