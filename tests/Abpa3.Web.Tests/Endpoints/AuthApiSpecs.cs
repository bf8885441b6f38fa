using System.Net;
using System.Security.Claims;
using System.Text;
using Abpa3.Web.Auth;
using Abpa3.Web.Tests.Support;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Abpa3.Web.Tests.Endpoints;

/// <summary>Claiming a device, logging in and the roles, over real HTTP.</summary>
public class AuthApiSpecs
{
    [Fact]
    public async Task Setup_with_the_console_code_claims_the_device_and_the_owner_can_log_in()
    {
        await using var node = await TestNode.StartAsync();

        var response = await node.PostJsonAsync("/api/auth/setup",
            new { username = "owner", password = TestNode.OwnerPassword, setup_code = node.SetupCode });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await TestNode.ReadJsonAsync(response);
        Assert.Equal("configured", body["device"]!["state"]!.GetValue<string>());
        Assert.Equal(node.Node.Identity.DeviceId.Value, body["device"]!["device_id"]!.GetValue<string>());

        var login = await node.PostJsonAsync("/api/auth/login", new { username = "owner", password = TestNode.OwnerPassword });
        var token = await TestNode.ReadJsonAsync(login);
        Assert.Equal("bearer", token["token_type"]!.GetValue<string>());
        Assert.Equal(3600, token["expires_in"]!.GetValue<int>());

        var me = await TestNode.ReadJsonAsync(await node.GetAsync("/api/auth/me", token["access_token"]!.GetValue<string>()));
        Assert.Equal(("owner", "owner"), (me["username"]!.GetValue<string>(), me["role"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Setup_with_a_wrong_or_missing_code_is_refused()
    {
        await using var node = await TestNode.StartAsync();
        var wrong = node.SetupCode == "00000000" ? "11111111" : "00000000";

        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
            new { username = "mallory", password = "long enough", setup_code = wrong }), 403);
        var missing = await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
            new { username = "mallory", password = "long enough" }), 422);
        Assert.NotNull(missing["errors"]!["setup_code"]);

        var info = await TestNode.ReadJsonAsync(await node.GetAsync("/api/devices/info"));
        Assert.Equal("unconfigured", info["state"]!.GetValue<string>());
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/login",
            new { username = "mallory", password = "long enough" }), 401);
    }

    [Fact]
    public async Task Setup_a_second_time_is_a_conflict_even_with_the_right_code()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();

        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
            new { username = "mallory", password = "long enough", setup_code = node.SetupCode }), 409);
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/login",
            new { username = "mallory", password = "long enough" }), 401);
    }

    [Fact]
    public async Task Concurrent_setups_with_the_right_code_make_exactly_one_owner()
    {
        await using var node = await TestNode.StartAsync();

        var attempts = await Task.WhenAll(Enumerable.Range(0, 5).Select(i =>
            node.PostJsonAsync("/api/auth/setup", new { username = $"user{i}", password = "long enough", setup_code = node.SetupCode })));

        Assert.Single(attempts, r => r.StatusCode == HttpStatusCode.OK);
        Assert.Equal(4, attempts.Count(r => r.StatusCode == HttpStatusCode.Conflict));
    }

    [Fact]
    public async Task Wrong_password_and_unknown_user_get_the_same_401()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();

        var wrongPassword = await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/login",
            new { username = "owner", password = "not the password" }), 401);
        var unknownUser = await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/login",
            new { username = "nobody", password = "not the password" }), 401);

        Assert.Equal(wrongPassword["detail"]!.GetValue<string>(), unknownUser["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Twenty_rapid_wrong_logins_are_rate_limited_and_the_owners_session_keeps_working()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var token = await node.LoginAsync();

        var statuses = new List<int>();
        for (var i = 0; i < 20; i++)
        {
            var response = await node.PostJsonAsync("/api/auth/login", new { username = "owner", password = $"guess-{i}" });
            statuses.Add((int)response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await TestNode.AssertProblemAsync(response, 429);
                Assert.True(response.Headers.RetryAfter is not null, "429 without Retry-After");
            }
        }

        Assert.Equal(9, statuses.Count(s => s == 401)); // one permit went to the owner's own login above
        Assert.Equal(11, statuses.Count(s => s == 429));
        // Even the right password waits out the window: the limit is per address, not per guess.
        Assert.Equal(HttpStatusCode.TooManyRequests,
            (await node.PostJsonAsync("/api/auth/login", new { username = "owner", password = TestNode.OwnerPassword })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await node.GetAsync("/api/auth/me", token)).StatusCode);
    }

    [Fact]
    public async Task Guessing_setup_codes_is_rate_limited()
    {
        await using var node = await TestNode.StartAsync();

        var statuses = new List<int>();
        for (var i = 0; i < 12; i++)
            statuses.Add((int)(await node.PostJsonAsync("/api/auth/setup",
                new { username = "mallory", password = "long enough", setup_code = $"{i:D8}" == node.SetupCode ? "99999999" : $"{i:D8}" })).StatusCode);

        Assert.Equal(Enumerable.Repeat(403, 10).Concat([429, 429]), statuses);
        // Throttled means throttled: the right code from the same address waits too.
        await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
            new { username = "owner", password = "long enough", setup_code = node.SetupCode }), 429);
    }

    [Fact]
    public async Task Wrong_codes_from_everywhere_together_lock_setup()
    {
        // The per-address limit is lifted so that only the device-wide lock is in play.
        await using var node = await TestNode.StartAsync(new Dictionary<string, string>
        {
            ["abpa3.auth.setup-permits"] = "1000",
            ["abpa3.device.max-wrong-setup-codes"] = "5",
        });
        var wrong = node.SetupCode == "00000000" ? "11111111" : "00000000";
        for (var i = 0; i < 5; i++)
            await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
                new { username = "mallory", password = "long enough", setup_code = wrong }), 403);

        var locked = await TestNode.AssertProblemAsync(await node.PostJsonAsync("/api/auth/setup",
            new { username = "owner", password = "long enough", setup_code = node.SetupCode }), 403);

        Assert.Contains("locked", locked["detail"]!.GetValue<string>());
        var info = await TestNode.ReadJsonAsync(await node.GetAsync("/api/devices/info"));
        Assert.Equal("unconfigured", info["state"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var token = await node.LoginAsync();
        Assert.Equal(HttpStatusCode.OK, (await node.GetAsync("/api/auth/me", token)).StatusCode);

        node.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(31)); // lifetime + clock skew

        var response = await node.GetAsync("/api/auth/me", token);
        await TestNode.AssertProblemAsync(response, 401);
        Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task Tampered_foreign_unsigned_and_missing_tokens_are_refused()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var token = await node.LoginAsync();
        var parts = token.Split('.');

        // Same signature, payload changed to claim another role.
        var payload = Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1])).Replace("\"owner\"", "\"admin\"");
        var tampered = $"{parts[0]}.{Base64UrlEncoder.Encode(payload)}.{parts[2]}";
        // Signed correctly, but with another device's key.
        var foreign = ForeignToken(node.Node.Identity.DeviceId.Value);
        // "alg": "none".
        var unsigned = $"{Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"JWT\"}")}.{parts[1]}.";

        foreach (var bad in new[] { tampered, foreign, unsigned, "not-a-jwt", "" })
            await TestNode.AssertProblemAsync(await node.GetAsync("/api/auth/me", bad.Length == 0 ? null : bad), 401);
    }

    private static string ForeignToken(string issuer)
    {
        var key = new SymmetricSecurityKey(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = TokenIssuer.Audience,
            Subject = new ClaimsIdentity([new Claim("sub", "owner"), new Claim("role", "owner")]),
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
    }

    [Fact]
    public async Task Only_the_owner_adds_admins_and_admins_can_sign_in_with_their_role()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();

        var created = await node.PostJsonAsync("/api/auth/users", new { username = "admin1", password = "admin password" }, owner);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        await TestNode.AssertProblemAsync(
            await node.PostJsonAsync("/api/auth/users", new { username = "ADMIN1", password = "admin password" }, owner), 409);

        var admin = await node.LoginAsync("admin1", "admin password");
        var me = await TestNode.ReadJsonAsync(await node.GetAsync("/api/auth/me", admin));
        Assert.Equal("admin", me["role"]!.GetValue<string>());
        await TestNode.AssertProblemAsync(
            await node.PostJsonAsync("/api/auth/users", new { username = "admin2", password = "admin password" }, admin), 403);
        await TestNode.AssertProblemAsync(
            await node.PostJsonAsync("/api/auth/users", new { username = "admin3", password = "admin password" }), 401);
    }

    [Fact]
    public async Task The_owner_account_and_its_tokens_survive_a_restart()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "abpa3-web-" + Guid.NewGuid().ToString("N"));
        try
        {
            string token;
            await using (var node = await TestNode.StartAsync(dataDir: dataDir))
            {
                await node.SetupOwnerAsync();
                token = await node.LoginAsync();
            }
            await using (var restarted = await TestNode.StartAsync(dataDir: dataDir))
            {
                var info = await TestNode.ReadJsonAsync(await restarted.GetAsync("/api/devices/info"));
                Assert.Equal("configured", info["state"]!.GetValue<string>());
                Assert.Equal(HttpStatusCode.OK, (await restarted.GetAsync("/api/auth/me", token)).StatusCode);
                await restarted.LoginAsync();
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}
