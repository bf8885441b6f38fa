using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Endpoints;

/// <summary>Malformed, missing, oversized and unexpected input: the SPEC's status and a problem body, never a 500.</summary>
public class BadInputSpecs
{
    public static TheoryData<string, string, string, int> MalformedBodies() => new()
    {
        { "/api/auth/setup", "{\"username\":", "application/json", 400 },
        { "/api/auth/setup", "[1,2,3]", "application/json", 400 },
        { "/api/auth/setup", "null", "application/json", 400 },
        { "/api/auth/setup", "{\"username\":123,\"password\":\"x\",\"setup_code\":\"1\"}", "application/json", 400 },
        { "/api/auth/setup", "username=a&password=b", "application/x-www-form-urlencoded", 400 },
        { "/api/auth/setup", "", "application/json", 400 },
        { "/api/auth/setup", "{}", "application/json", 422 },
        { "/api/auth/login", "{\"username\":\"owner\"", "application/json", 400 },
        { "/api/auth/login", "{}", "application/json", 422 },
        { "/api/auth/login", "{\"username\":\"owner\",\"password\":\"\"}", "application/json", 422 },
        { "/api/auth/login", "<xml/>", "text/xml", 400 },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Malformed_and_incomplete_bodies_get_a_clear_problem(string path, string body, string contentType, int status)
    {
        await using var node = await TestNode.StartAsync();
        await TestNode.AssertProblemAsync(await node.PostRawAsync(path, body, contentType), status);
    }

    [Fact]
    public async Task Oversized_fields_are_invalid_and_an_oversized_body_is_too_large()
    {
        await using var node = await TestNode.StartAsync();

        var longName = await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
            new { username = new string('a', 5000), password = "long enough", setup_code = node.SetupCode }), 422);
        Assert.NotNull(longName["errors"]!["username"]);
        var longPassword = await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
            new { username = "owner", password = new string('p', 129), setup_code = node.SetupCode }), 422);
        Assert.NotNull(longPassword["errors"]!["password"]);
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
            new { username = "owner", password = "short", setup_code = node.SetupCode }), 422);

        var huge = "{\"username\":\"" + new string('a', 70 * 1024) + "\"}";
        await TestNode.AssertProblemAsync(await node.PostRawAsync("/api/auth/login", huge), 413);

        // None of it claimed the device.
        var info = await TestNode.ReadJsonAsync(await node.GetAsync("/api/devices/info"));
        Assert.Equal("unconfigured", info["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_oversized_body_without_a_declared_length_is_too_large()
    {
        await using var node = await TestNode.StartAsync();
        var content = new System.Net.Http.StreamContent(new MemoryStream(new byte[200 * 1024]));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        await TestNode.AssertProblemAsync(await node.Http.SendAsync(request), 413);
    }

    [Fact]
    public async Task Unknown_paths_and_methods_get_problems()
    {
        await using var node = await TestNode.StartAsync();

        await TestNode.AssertProblemAsync(await node.GetAsync("/api/nothing-here"), 404);
        await TestNode.AssertProblemAsync(await node.Http.DeleteAsync("/api/auth/login"), 405);
    }

    [Fact]
    public async Task Random_bytes_on_every_endpoint_never_produce_a_server_error()
    {
        // Limits raised so the parser, not the rate limiter, answers every request.
        await using var node = await TestNode.StartAsync(new Dictionary<string, string>
        {
            ["abpa3.auth.login-permits"] = "100000",
            ["abpa3.auth.setup-permits"] = "100000",
        });
        var random = new Random(20261124);
        string[] fragments = ["{", "}", "[", "]", "\"", ":", ",", "null", "true", "1e999", "-0", "\"username\"", "\"password\"",
            "\"setup_code\"", "\\u0000", "\\ud800", "\u00ff", "\"\u202e\"", "{\"username\":\"a\",\"password\":\"bbbbbbbb\",\"setup_code\":"];

        foreach (var path in new[] { "/api/auth/setup", "/api/auth/login", "/api/auth/users" })
        {
            for (var i = 0; i < 60; i++)
            {
                string body;
                if (i % 2 == 0)
                {
                    var bytes = new byte[random.Next(0, 200)];
                    random.NextBytes(bytes);
                    body = System.Text.Encoding.Latin1.GetString(bytes);
                }
                else
                {
                    body = string.Concat(Enumerable.Range(0, random.Next(1, 12)).Select(_ => fragments[random.Next(fragments.Length)]));
                }
                var response = await node.PostRawAsync(path, body);
                Assert.True((int)response.StatusCode is >= 400 and < 500,
                    $"{path} answered {(int)response.StatusCode} to {body}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }
        }
        var info = await TestNode.ReadJsonAsync(await node.GetAsync("/api/devices/info"));
        Assert.Equal("unconfigured", info["state"]!.GetValue<string>());
    }
}
