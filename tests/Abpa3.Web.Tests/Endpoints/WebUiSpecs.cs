using System.Net;
using Abpa3.Web.Endpoints;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Endpoints;

/// <summary>
/// The owner's web UI as the edge serves it (the browser tests in Abpa3.Ui.Tests drive it): every file embedded and
/// served from the node itself, with a self-only CSP, and the API, socket and health routes untouched.
/// </summary>
public sealed class WebUiSpecs : IAsyncLifetime
{
    private TestNode _node = null!;

    public async Task InitializeAsync() => _node = await TestNode.StartAsync();

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task The_root_serves_the_ui_shell_with_security_headers()
    {
        var response = await _node.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("connect-src 'self'", csp);
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.DoesNotContain("unsafe-inline", csp);
        Assert.DoesNotContain("http", csp);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<script type=\"module\" src=\"/js/app.js\"></script>", html);
    }

    [Fact]
    public async Task Every_ui_file_is_embedded_served_with_its_type_and_revalidated_by_etag()
    {
        Assert.Contains("/index.html", WebUi.Files.Keys);
        Assert.Contains("/app.css", WebUi.Files.Keys);
        Assert.Contains("/js/app.js", WebUi.Files.Keys);
        Assert.Contains("/js/pages/scans.js", WebUi.Files.Keys);
        foreach (var file in WebUi.Files.Values)
        {
            var response = await _node.GetAsync(file.Path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, file.Path);
            Assert.Equal(file.ContentType, response.Content.Headers.ContentType?.ToString());
            Assert.Equal(file.Content, await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());

            var again = new HttpRequestMessage(HttpMethod.Get, file.Path);
            again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
            Assert.Equal(HttpStatusCode.NotModified, (await _node.Http.SendAsync(again)).StatusCode);
        }
    }

    [Fact]
    public void No_ui_file_refers_to_another_origin()
    {
        foreach (var file in WebUi.Files.Values.Where(f => f.ContentType.StartsWith("text/", StringComparison.Ordinal)))
        {
            var text = System.Text.Encoding.UTF8.GetString(file.Content);
            Assert.DoesNotMatch(@"(src|href)\s*=\s*[""']?(https?:)?//", text);
            Assert.DoesNotMatch(@"import\s[^;]*from\s*['""](https?:)?//", text);
            Assert.DoesNotMatch(@"url\(\s*['""]?(https?:)?//", text);
        }
    }

    [Fact]
    public async Task Unknown_paths_and_the_api_keep_their_problem_answers()
    {
        await TestNode.AssertProblemAsync(await _node.GetAsync("/no-such-page"), 404);
        await TestNode.AssertProblemAsync(await _node.GetAsync("/js/../../etc/passwd"), 404);
        await TestNode.AssertProblemAsync(await _node.GetAsync("/api/no-such-endpoint"), 404);
        await TestNode.AssertProblemAsync(await _node.GetAsync("/api/devices"), 401);
        Assert.Equal(HttpStatusCode.OK, (await _node.GetAsync("/api/devices/info")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _node.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _node.GetAsync("/metrics")).StatusCode);
        await TestNode.AssertProblemAsync(await _node.GetAsync("/ws"), 400);
    }
}
