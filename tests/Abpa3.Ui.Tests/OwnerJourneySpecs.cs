using System.Net;
using System.Text.Json.Nodes;
using Abpa3.Actors.Sensor;
using Abpa3.Client;
using Abpa3.Ui.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;
using static Abpa3.Ui.Tests.Support.Ui;

namespace Abpa3.Ui.Tests;

/// <summary>
/// The whole owner journey in a real browser against real nodes on 127.0.0.1: claim a manager with its setup code,
/// sign in, pair a phone from the QR payload, pair two sensors by address and code, run a scan, stop a sensor in the
/// middle and watch the UI show it offline while the scan completes on the other, then revoke the phone.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class OwnerJourneySpecs(BrowserFixture browser) : IAsyncLifetime
{
    private UiNode _manager = null!;
    private UiNode _sensor1 = null!;
    private UiNode _sensor2 = null!;

    public async Task InitializeAsync()
    {
        _manager = await UiNode.StartAsync("Manager");
        _sensor1 = await UiNode.StartAsync("Sensor 1");
        _sensor2 = await UiNode.StartAsync("Sensor 2");
    }

    public async Task DisposeAsync()
    {
        await _sensor2.DisposeAsync();
        await _sensor1.DisposeAsync();
        await _manager.DisposeAsync();
    }

    [Fact]
    public async Task The_owner_claims_pairs_scans_through_a_failover_and_revokes_a_client()
    {
        await using var ui = await browser.OpenAsync(nameof(OwnerJourneySpecs));
        await ui.StepsAsync(() => JourneyAsync(ui));
    }

    private async Task JourneyAsync(UiPage ui)
    {
        var page = ui.Page;

        // ---- setup: an unconfigured node opens on its setup wizard ----
        await page.GotoAsync(_manager.Url);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Set up this device" })).ToBeVisibleAsync();
        await Expect(page.Locator("#setup-title + p")).ToContainTextAsync("Nobody owns this device yet");
        await Expect(page.Locator(".fingerprint")).ToHaveAttributeAsync("title", _manager.CertSha256);
        await ui.ScreenshotAsync("01-setup-check");
        await page.GetByRole(AriaRole.Button, new() { Name = "This is my device — continue" }).ClickAsync();
        await page.GetByLabel("Setup code").FillAsync(_manager.SetupCode);
        await page.GetByLabel("Owner username").FillAsync("owner");
        await page.GetByLabel("Password", new() { Exact = true }).FillAsync(UiNode.OwnerPassword);
        await page.GetByLabel("Repeat the password").FillAsync(UiNode.OwnerPassword);
        await ui.ScreenshotAsync("02-setup-code");
        await page.GetByRole(AriaRole.Button, new() { Name = "Claim device" }).ClickAsync();

        // ---- the dashboard: identity, state, role, fingerprint ----
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dashboard" })).ToBeVisibleAsync();
        await Expect(page.Locator("[data-field=state]")).ToHaveTextAsync("configured");
        await Expect(page.Locator("[data-field=device_id]")).ToHaveTextAsync(_manager.DeviceId);
        await Expect(page.Locator("[data-field=cert] .fingerprint")).ToHaveAttributeAsync("title", _manager.CertSha256);
        await Expect(page.Locator("#live")).ToHaveAttributeAsync("data-state", "live");

        // ---- sign out, sign in ----
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        Assert.Null(await page.EvaluateAsync<string?>("sessionStorage.getItem('abpa3.access_token')"));
        await page.GetByLabel("Username").FillAsync("owner");
        await page.GetByLabel("Password").FillAsync(UiNode.OwnerPassword);
        await ui.ScreenshotAsync("03-login");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Dashboard" })).ToBeVisibleAsync();
        await ui.ScreenshotAsync("04-dashboard-configured");
        // From here on, nothing reloads the page: every change below arrives over the WebSocket.
        await page.EvaluateAsync("window.__sameDocument = true");

        // ---- a client pairs from the QR payload the page shows ----
        await Nav(page, "Clients").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Show a pairing code" }).ClickAsync();
        var qr = page.Locator("#qr-image");
        await Expect(qr).ToBeVisibleAsync();
        Assert.True(await qr.EvaluateAsync<int>("img => img.complete ? img.naturalWidth : 0") > 0, "the QR image is drawn");
        await Expect(page.Locator("#qr-countdown")).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^[45]:\d\d$"));
        var first = await page.Locator("#qr-countdown").TextContentAsync();
        await Expect(page.Locator("#qr-countdown")).Not.ToHaveTextAsync(first!, new() { Timeout = 3000 });
        var payload = await page.Locator("#qr-payload").TextContentAsync();
        var credentials = await Pairing.PairAsync(QrPayload.Parse(payload!), "Pixel 7", "mobile");
        await using var phone = new SyncClient(credentials, "ui");
        phone.Start();
        var row = page.Locator($"#client-list tr[data-device='{credentials.DeviceId}']");
        await Expect(row).ToContainTextAsync("Pixel 7");
        await Expect(row.Locator(".status")).ToHaveTextAsync("online");
        await Expect(page.Locator("#qr-state")).ToContainTextAsync("Pixel 7 paired");
        await ui.ScreenshotAsync("05-clients-paired");

        // ---- two sensors paired by address and setup code ----
        await Nav(page, "Devices").ClickAsync();
        foreach (var sensor in new[] { _sensor1, _sensor2 })
        {
            await page.GetByLabel("Device address").FillAsync(sensor.Address);
            await page.GetByRole(AriaRole.Button, new() { Name = "Find device" }).ClickAsync();
            var details = page.Locator("#device-details");
            await Expect(details).ToContainTextAsync(sensor.Node.Identity.Name);
            await Expect(details).ToContainTextAsync("unconfigured");
            await Expect(details.Locator(".fingerprint")).ToHaveAttributeAsync("title", sensor.CertSha256);
            if (sensor == _sensor1)
                await ui.ScreenshotAsync("06-device-discovered");
            await page.GetByLabel("Setup code of this device").FillAsync(sensor.SetupCode);
            await page.GetByRole(AriaRole.Button, new() { Name = $"Pair {sensor.Node.Identity.Name}", Exact = true }).ClickAsync();
            await Expect(page.Locator("#discovered")).ToContainTextAsync($"Paired {sensor.Node.Identity.Name}");
            await Expect(page.Locator($"#device-list tr[data-device='{sensor.DeviceId}'] .status")).ToHaveTextAsync("online");
        }
        await ui.ScreenshotAsync("07-devices-paired");

        // ---- a scan across both; sensor 1 stops in the middle ----
        await Nav(page, "Scans").ClickAsync();
        await Expect(page.Locator("#sensor-choice input[type=checkbox]:checked")).ToHaveCountAsync(2);
        const int width = 64, height = 96, segments = 12, seed = 42;
        await page.GetByLabel("Width").FillAsync($"{width}");
        await page.GetByLabel("Height").FillAsync($"{height}");
        await page.GetByLabel("Segments").FillAsync($"{segments}");
        await page.GetByLabel("Seed").FillAsync($"{seed}");
        await page.GetByLabel("Rows per second").FillAsync("12");
        await ui.ScreenshotAsync("08-scan-form");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start scan" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("#/scans/.+"));
        var scanId = page.Url.Split("#/scans/")[1];
        await Expect(page.Locator($"#scan-sensors [data-sensor='{_sensor1.DeviceId}'] .presence")).ToHaveTextAsync("online");
        await Expect(page.Locator("#scan-segments .segment.done").First).ToBeVisibleAsync();
        await ui.ScreenshotAsync("09-scan-running");

        await _sensor1.StopAsync();
        await Expect(page.Locator($"#scan-sensors [data-sensor='{_sensor1.DeviceId}'] .presence")).ToHaveTextAsync("offline", new() { Timeout = 10_000 });
        await Expect(page.Locator("#scan-log")).ToContainTextAsync("Sensor 1 went offline");
        await Expect(page.Locator("#scan-log")).ToContainTextAsync("moved from Sensor 1 to Sensor 2");
        await ui.ScreenshotAsync("10-scan-failover", docsName: "scan-failover-desktop");
        await Expect(page.Locator("#scan-state")).ToHaveTextAsync("completed", new() { Timeout = 60_000 });
        await Expect(page.Locator("#scan-summary")).ToContainTextAsync($"{segments} of {segments} segments");
        await Expect(page.Locator("#heatmap")).ToHaveAttributeAsync("data-rows", $"{height}");
        await Expect(page.Locator("#scan-segments .segment.done")).ToHaveCountAsync(segments);
        await ui.ScreenshotAsync("11-scan-completed");

        // The heatmap is exactly the result: each pixel is the colour map's entry for the sensor driver's sample.
        var expected = new SimulatedDriver().ReadRows(new ScanParameters(width, height, segments, seed, 1), 0, height);
        var drawn = await page.EvaluateAsync<System.Text.Json.JsonElement>(@"async () => {
            const { palette } = await import('/js/heatmap.js');
            const canvas = document.getElementById('heatmap');
            const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            return { palette: Array.from(palette), pixels: Array.from(pixels) };
        }");
        var palette = drawn.GetProperty("palette").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var pixels = drawn.GetProperty("pixels").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        Assert.Equal(width * height * 4, pixels.Length);
        var mismatches = Enumerable.Range(0, width * height)
            .Count(i => Enumerable.Range(0, 3).Any(c => pixels[i * 4 + c] != palette[expected[i] * 3 + c]));
        Assert.True(mismatches == 0, $"{mismatches} pixels differ from the scan's exact result");

        // ---- the past scans list, and the devices page shows sensor 1 offline ----
        await page.GetByRole(AriaRole.Link, new() { Name = "All scans" }).ClickAsync();
        var scanRow = page.Locator($"#scan-list tr[data-scan='{scanId}']");
        await Expect(scanRow.Locator(".state")).ToHaveTextAsync("completed");
        await Expect(scanRow.Locator("canvas.thumb")).ToBeVisibleAsync();
        await ui.ScreenshotAsync("12-scans-list");
        await Nav(page, "Devices").ClickAsync();
        await Expect(page.Locator($"#device-list tr[data-device='{_sensor1.DeviceId}'] .status")).ToHaveTextAsync("offline");
        await Expect(page.Locator($"#device-list tr[data-device='{_sensor2.DeviceId}'] .status")).ToHaveTextAsync("online");
        await ui.ScreenshotAsync("13-devices-one-offline");

        // ---- revoke the phone, with confirmation ----
        await Nav(page, "Clients").ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Revoke Pixel 7" }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToContainTextAsync("Revoke Pixel 7?");
        await ui.ScreenshotAsync("14-revoke-confirm", fullPage: false);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();
        await Expect(page.Locator($"#client-list tr[data-device='{credentials.DeviceId}'] .status")).ToHaveTextAsync("revoked");
        await ui.ScreenshotAsync("15-client-revoked");

        var token = await _manager.LoginAsync();
        var devices = await UiNode.ReadJsonAsync(await _manager.SendAsync(HttpMethod.Get, "/api/devices", token));
        Assert.True(devices["devices"]!.AsArray().Single(d => d!["device_id"]!.GetValue<string>() == credentials.DeviceId)!["revoked"]!.GetValue<bool>());
        var pairAgain = await _manager.Http.PostAsync("/api/pair", System.Net.Http.Json.JsonContent.Create(new
        {
            pairToken = JsonNode.Parse(payload!)!["pairToken"]!.GetValue<string>(),
            deviceInfo = new { name = "Thief", type = "mobile" },
        }));
        Assert.Equal(HttpStatusCode.Gone, pairAgain.StatusCode);

        Assert.True(await page.EvaluateAsync<bool>("window.__sameDocument === true"), "the page was reloaded");
        ui.AssertClean();
    }
}
