using System.Collections.Concurrent;
using Microsoft.Playwright;

namespace Abpa3.Ui.Tests.Support;

/// <summary>
/// One headless Debian Chromium (never a downloaded browser) for the whole test run, driven by Playwright.
/// Each test opens its own context, so storage and sessions never leak between tests.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (apt-get install -y chromium; .ci/run does).");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // As root (CI) Chromium needs --no-sandbox; the pages are our own, on loopback.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--no-first-run", "--disable-background-networking"],
        });
    }

    /// <summary>A fresh browser context and page at this size, watched for console errors and foreign requests.</summary>
    /// <param name="acceptAnyCertificate">For a node on its own self-signed HTTPS: the owner accepts it once in a real browser.</param>
    public async Task<UiPage> OpenAsync(string testName, ViewportSize? viewport = null, bool isMobile = false, bool acceptAnyCertificate = false)
    {
        var context = await Browser.NewContextAsync(new()
        {
            IgnoreHTTPSErrors = acceptAnyCertificate,
            ViewportSize = viewport ?? Desktop,
            IsMobile = isMobile,
            HasTouch = isMobile,
            DeviceScaleFactor = 1,
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(15_000);
        var page = await context.NewPageAsync();
        return new UiPage(context, page, testName);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
            await Browser.CloseAsync();
        _playwright?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    // One browser, and tests one at a time: each starts real nodes, and the machine has two cores.
    public const string Name = "browser";
}

/// <summary>A page under test: screenshots kept as artifacts, and everything the page should never do recorded.</summary>
public sealed class UiPage : IAsyncDisposable
{
    private readonly IBrowserContext _context;
    private readonly string _testName;
    private readonly ConcurrentQueue<string> _problems = new();
    private readonly ConcurrentQueue<string> _foreign = new();

    public UiPage(IBrowserContext context, IPage page, string testName)
    {
        _context = context;
        Page = page;
        _testName = testName;
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !ExpectedConsoleErrors.Any(message.Text.Contains))
                _problems.Enqueue($"console: {message.Text}");
        };
        page.PageError += (_, error) => _problems.Enqueue($"page error: {error}");
        // The UI's own files must all be there: a missing script or stylesheet is a broken page.
        page.Response += (_, response) =>
        {
            var path = new Uri(response.Url).AbsolutePath;
            if (response.Status >= 400 && !path.StartsWith("/api/", StringComparison.Ordinal))
                _problems.Enqueue($"HTTP {response.Status} for {response.Url}");
        };
        page.Request += (_, request) =>
        {
            var uri = new Uri(request.Url);
            if (uri.Scheme is "http" or "https" or "ws" or "wss" && uri.Host != "127.0.0.1")
                _foreign.Enqueue(request.Url);
        };
    }

    /// <summary>Failed requests the browser logs itself when a test makes one fail on purpose (a 4xx/5xx or an aborted fetch).</summary>
    public List<string> ExpectedConsoleErrors { get; } = ["Failed to load resource"];

    public IPage Page { get; }

    /// <summary>Where this run keeps screenshots: the test output directory (a test artifact).</summary>
    public static string ArtifactDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <param name="docsName">Also the README's screenshot of this name, refreshed when <c>ABPA3_UPDATE_SCREENSHOTS=1</c>.</param>
    public async Task<string> ScreenshotAsync(string name, bool fullPage = true, string? docsName = null)
    {
        Directory.CreateDirectory(Path.Combine(ArtifactDirectory, _testName));
        var path = Path.Combine(ArtifactDirectory, _testName, $"{name}.png");
        // Passing toasts would cover what the screenshot is of. (Not Playwright's Style option: it injects an inline
        // style, which the page's CSP rightly refuses and reports.)
        await Page.EvaluateAsync("() => { const t = document.getElementById('toasts'); if (t) t.hidden = true; }");
        await Page.ScreenshotAsync(new() { Path = path, FullPage = fullPage, Animations = ScreenshotAnimations.Disabled });
        await Page.EvaluateAsync("() => { const t = document.getElementById('toasts'); if (t) t.hidden = false; }");
        if (docsName is not null && Environment.GetEnvironmentVariable("ABPA3_UPDATE_SCREENSHOTS") == "1")
            File.Copy(path, Path.Combine(RepositoryRoot(), "docs", "screenshots", $"{docsName}.png"), overwrite: true);
        return path;
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Abpa3.Mesh.sln")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("not inside the repository");
    }

    /// <summary>Runs a test's steps; if one fails, the page as it was then is kept as <c>failure.png</c>.</summary>
    public async Task StepsAsync(Func<Task> steps)
    {
        try
        {
            await steps();
        }
        catch
        {
            try
            {
                await ScreenshotAsync("failure");
            }
            catch (PlaywrightException)
            {
                // The page itself is gone; the original failure says why.
            }
            throw;
        }
    }

    /// <summary>No uncaught script error, no console error, and nothing fetched from anywhere but the node.</summary>
    public void AssertClean()
    {
        Assert.True(_problems.IsEmpty, "the page reported errors:\n" + string.Join("\n", _problems));
        Assert.True(_foreign.IsEmpty, "the page requested other hosts:\n" + string.Join("\n", _foreign));
    }

    public async ValueTask DisposeAsync() => await _context.CloseAsync();
}

public static class Ui
{
    /// <summary>A link of the main navigation (the pages link to each other too, under other names).</summary>
    public static ILocator Nav(IPage page, string name) =>
        page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = name, Exact = true });
}
