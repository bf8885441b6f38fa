using Abpa3.Client;
using Abpa3.Ui.Tests.Support;
using Microsoft.Playwright;
using static Abpa3.Ui.Tests.Support.Ui;
using static Microsoft.Playwright.Assertions;

namespace Abpa3.Ui.Tests;

/// <summary>
/// Every page on a desktop (1280×800) and a phone (390×844): it renders, fits the width, and is screenshotted; and the
/// owner's main tasks can be done with the keyboard alone.
/// With <c>ABPA3_UPDATE_SCREENSHOTS=1</c> the screenshots also replace the ones in <c>docs/screenshots/</c>.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class PageSpecs(BrowserFixture browser) : IAsyncLifetime
{
    private UiNode _manager = null!;
    private UiNode _sensor1 = null!;
    private UiNode _sensor2 = null!;

    public async Task InitializeAsync()
    {
        _manager = await UiNode.StartAsync("Workshop manager");
        _sensor1 = await UiNode.StartAsync("Bench sensor");
        _sensor2 = await UiNode.StartAsync("Window sensor");
    }

    public async Task DisposeAsync()
    {
        await _sensor2.DisposeAsync();
        await _sensor1.DisposeAsync();
        await _manager.DisposeAsync();
    }

    [Fact]
    public async Task Every_page_fits_a_desktop_and_a_phone()
    {
        // Unconfigured, the node shows its setup wizard.
        foreach (var (size, viewport) in Sizes)
        {
            await using var ui = await OpenAsync(size, viewport);
            await ui.StepsAsync(async () =>
            {
                await ui.Page.GotoAsync(_manager.Url);
                await ShotAsync(ui, "setup", size);
                await ui.Page.GetByRole(AriaRole.Button, new() { Name = "This is my device — continue" }).ClickAsync();
                await ShotAsync(ui, "setup-code", size);
                ui.AssertClean();
            });
        }

        // A mesh to show: an owner, two sensors, a phone online, a finished scan and one stopped half-way.
        await _manager.SetupOwnerAsync();
        var token = await _manager.LoginAsync();
        await _manager.PairSensorAsync(token, _sensor1);
        await _manager.PairSensorAsync(token, _sensor2);
        var qr = await UiNode.ReadJsonAsync(await _manager.SendAsync(HttpMethod.Post, "/api/pairing/qr", token, new { }));
        var phone = await Pairing.PairAsync(QrPayload.Parse(qr["payload"]!.ToJsonString()), "Pixel 7", "mobile");
        await using var phoneSync = new SyncClient(phone, "ui");
        phoneSync.Start();
        var done = await StartScanAsync(token, new { width = 96, height = 96, segments = 8, seed = 7, rows_per_second = 2000 });
        await Eventually.TrueAsync(async () => await ScanStateAsync(token, done) == "completed", "the first scan completes");
        var stopped = await StartScanAsync(token, new { width = 96, height = 64, segments = 8, seed = 3, rows_per_second = 8 });
        await Eventually.TrueAsync(async () => (await ScanAsync(token, stopped))["segments"]!.AsArray().Count(s => s!["state"]!.GetValue<string>() == "done") >= 3,
            "the second scan is under way");
        await _manager.SendAsync(HttpMethod.Post, $"/api/scans/{stopped}/cancel", token);

        foreach (var (size, viewport) in Sizes)
        {
            await using var ui = await OpenAsync(size, viewport);
            await ui.StepsAsync(async () =>
            {
                var page = ui.Page;
                await page.GotoAsync(_manager.Url);
                await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
                await ShotAsync(ui, "login", size);
                await page.GetByLabel("Username").FillAsync("owner");
                await page.GetByLabel("Password").FillAsync(UiNode.OwnerPassword);
                await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

                await Expect(page.Locator("#summary-devices .stat")).ToHaveTextAsync("2 / 2");
                await Expect(page.Locator("#summary-clients .stat")).ToHaveTextAsync("1 / 1");
                await Expect(page.Locator("[data-field=role]")).ToHaveTextAsync("manager");
                await ShotAsync(ui, "dashboard", size);

                await Nav(page, "Clients").ClickAsync();
                await page.GetByRole(AriaRole.Button, new() { Name = "Show a pairing code" }).ClickAsync();
                await Expect(page.Locator("#client-list")).ToContainTextAsync("Pixel 7");
                await Expect(page.Locator("#qr-image")).ToBeVisibleAsync();
                await ShotAsync(ui, "clients", size);

                await Nav(page, "Devices").ClickAsync();
                await page.GetByLabel("Device address").FillAsync(_sensor1.Address);
                await page.GetByRole(AriaRole.Button, new() { Name = "Find device" }).ClickAsync();
                await Expect(page.Locator("#device-details")).ToContainTextAsync("Bench sensor");
                await Expect(page.Locator("#device-list .status").First).ToHaveTextAsync("online");
                await ShotAsync(ui, "devices", size);

                await Nav(page, "Scans").ClickAsync();
                await Expect(page.Locator($"#scan-list tr[data-scan='{done}'] canvas.thumb")).ToBeVisibleAsync();
                await ShotAsync(ui, "scans", size);

                await page.Locator($"#scan-list a[href='#/scans/{done}']").ClickAsync();
                await Expect(page.Locator("#scan-state")).ToHaveTextAsync("completed");
                await Expect(page.Locator("#heatmap")).ToHaveAttributeAsync("data-rows", "96");
                await ShotAsync(ui, "scan", size);

                await page.GotoAsync($"{_manager.Url}#/scans/{stopped}");
                await Expect(page.Locator("#scan-state")).ToHaveTextAsync("cancelled");
                await ShotAsync(ui, "scan-cancelled", size);
                ui.AssertClean();
            });
        }
    }

    [Fact]
    public async Task The_keyboard_alone_signs_in_shows_a_code_and_revokes_a_client()
    {
        await _manager.SetupOwnerAsync();
        var token = await _manager.LoginAsync();
        var qr = await UiNode.ReadJsonAsync(await _manager.SendAsync(HttpMethod.Post, "/api/pairing/qr", token, new { }));
        var phone = await Pairing.PairAsync(QrPayload.Parse(qr["payload"]!.ToJsonString()), "Old phone", "mobile");

        await using var ui = await browser.OpenAsync(nameof(The_keyboard_alone_signs_in_shows_a_code_and_revokes_a_client));
        await ui.StepsAsync(async () =>
        {
            var page = ui.Page;
            var keyboard = page.Keyboard;
            await page.GotoAsync(_manager.Url);
            // The first field has focus; type, Tab, type, Enter.
            await Expect(page.GetByLabel("Username")).ToBeFocusedAsync();
            await keyboard.TypeAsync("owner");
            await keyboard.PressAsync("Tab");
            await keyboard.TypeAsync(UiNode.OwnerPassword);
            await keyboard.PressAsync("Enter");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dashboard" })).ToBeFocusedAsync();

            await TabToAsync(page, "Clients");
            await keyboard.PressAsync("Enter");
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Phones and browsers" })).ToBeFocusedAsync();
            await TabToAsync(page, "Show a pairing code");
            await keyboard.PressAsync("Enter");
            await Expect(page.GetByRole(AriaRole.Button, new() { Name = "New code" })).ToBeFocusedAsync();

            // Escape backs out of the confirmation; Enter on its Revoke button goes through.
            await TabToAsync(page, "Revoke Old phone");
            await keyboard.PressAsync("Enter");
            await Expect(page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
            await Expect(page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Cancel" })).ToBeFocusedAsync();
            await keyboard.PressAsync("Escape");
            await Expect(page.GetByRole(AriaRole.Dialog)).ToHaveCountAsync(0);
            await Expect(page.Locator($"#client-list tr[data-device='{phone.DeviceId}'] .status")).Not.ToHaveTextAsync("revoked");

            await TabToAsync(page, "Revoke Old phone");
            await keyboard.PressAsync("Enter");
            await keyboard.PressAsync("Tab");
            await Expect(page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Revoke" })).ToBeFocusedAsync();
            await keyboard.PressAsync("Enter");
            await Expect(page.Locator($"#client-list tr[data-device='{phone.DeviceId}'] .status")).ToHaveTextAsync("revoked");

            // On a fresh load the first Tab reaches a skip link that leads past the navigation.
            await page.ReloadAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Phones and browsers" })).ToBeVisibleAsync();
            await keyboard.PressAsync("Tab");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Skip to content" })).ToBeFocusedAsync();
            await keyboard.PressAsync("Enter");
            await Expect(page.Locator("main#view")).ToBeFocusedAsync();
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Phones and browsers" })).ToBeVisibleAsync();
            Assert.EndsWith("#/clients", page.Url);
            ui.AssertClean();
        });
    }

    private static readonly (string Size, ViewportSize Viewport)[] Sizes = [("desktop", BrowserFixture.Desktop), ("phone", BrowserFixture.Phone)];

    private Task<UiPage> OpenAsync(string size, ViewportSize viewport) =>
        browser.OpenAsync(nameof(Every_page_fits_a_desktop_and_a_phone), viewport, isMobile: size == "phone");

    /// <summary>Checks the page fits its width (no sideways scrolling), then keeps a screenshot of it.</summary>
    private static async Task ShotAsync(UiPage ui, string name, string size)
    {
        await Expect(ui.Page.Locator("main h1")).ToBeVisibleAsync();
        var overflow = await ui.Page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.True(overflow <= 0, $"{name} at {size} width scrolls sideways by {overflow}px");
        await ui.ScreenshotAsync($"{name}-{size}", docsName: $"{name}-{size}");
    }

    private static async Task TabToAsync(IPage page, string name)
    {
        for (var i = 0; i < 40; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            var focused = await page.EvaluateAsync<string>(
                "(() => { const e = document.activeElement; return e ? (e.getAttribute('aria-label') || e.textContent || '').trim() : ''; })()");
            if (focused == name)
                return;
        }
        Assert.Fail($"Tab never reached '{name}'");
    }

    private async Task<string> StartScanAsync(string token, object parameters)
    {
        var response = await _manager.SendAsync(HttpMethod.Post, "/api/scans", token, new { @params = parameters });
        return (await UiNode.ReadJsonAsync(response))["scan_id"]!.GetValue<string>();
    }

    private async Task<System.Text.Json.Nodes.JsonObject> ScanAsync(string token, string id) =>
        await UiNode.ReadJsonAsync(await _manager.SendAsync(HttpMethod.Get, $"/api/scans/{id}", token));

    private async Task<string> ScanStateAsync(string token, string id) => (await ScanAsync(token, id))["state"]!.GetValue<string>();
}
