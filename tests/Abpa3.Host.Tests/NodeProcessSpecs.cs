using System.Net;
using Abpa3.Host.Tests.Support;

namespace Abpa3.Host.Tests;

/// <summary>The node as a process: command line, first boot, restart, crash and signals.</summary>
public sealed class NodeProcessSpecs : IDisposable
{
    private const string Password = "correct horse battery";
    private readonly string _dataDir = Path.Combine(Path.GetTempPath(), "abpa3-host-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dataDir))
            Directory.Delete(_dataDir, recursive: true);
    }

    private string SetupCodeOnDisk => File.ReadAllText(Path.Combine(_dataDir, "setup-code.txt")).Trim();

    [Fact]
    public async Task First_boot_prints_the_setup_code_and_the_ready_line_and_serves_https()
    {
        await using var node = await NodeProcess.StartAsync(_dataDir);

        var setupLine = Assert.Single(node.Output, l => l.StartsWith("ABPA3 setup code: "));
        Assert.Contains(SetupCodeOnDisk, setupLine);
        Assert.Matches("^abpa3-[0-9a-f]{12}$", node.DeviceId);
        Assert.Equal("https", node.HttpUrl.Scheme);
        Assert.Equal("127.0.0.1", node.HttpUrl.Host);
        Assert.NotEqual(0, node.HttpUrl.Port);
        Assert.Matches(@"^akka\.ssl\.tcp://abpa3@127\.0\.0\.1:[1-9][0-9]*$", node.RemoteAddress);

        using var https = new Https(node.HttpUrl);
        var info = await https.GetJsonAsync("/api/devices/info");
        Assert.Equal(node.DeviceId, info["device_id"]!.GetValue<string>());
        Assert.Equal(https.ServedCertSha256, info["cert_sha256"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_node_writes_nothing_outside_its_data_directory_not_even_in_its_users_home()
    {
        var home = Path.Combine(Path.GetTempPath(), "abpa3-home-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(home);
        try
        {
            await using (var node = await NodeProcess.StartAsync(_dataDir, environment: new Dictionary<string, string> { ["HOME"] = home }))
            {
                using var https = new Https(node.HttpUrl);
                var setup = await https.PostJsonAsync("/api/auth/setup", new { username = "owner", password = Password, setup_code = SetupCodeOnDisk });
                Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
                var login = await https.PostJsonAsync("/api/auth/login", new { username = "owner", password = Password });
                Assert.Equal(HttpStatusCode.OK, login.StatusCode);
                await Task.Delay(TimeSpan.FromSeconds(2)); // what runs in the background after start has run
                Assert.Equal(0, await node.TerminateAsync());
            }
            // ASP.NET's data protection, left to its defaults, puts a key ring in ~/.aspnet.
            Assert.Empty(Directory.EnumerateFileSystemEntries(home, "*", SearchOption.AllDirectories));
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }

    [Fact]
    public async Task A_restarted_node_keeps_its_identity_owner_and_state_and_stops_showing_the_setup_code()
    {
        string certSha256, serial;
        await using (var node = await NodeProcess.StartAsync(_dataDir))
        {
            using var https = new Https(node.HttpUrl);
            var setup = await https.PostJsonAsync("/api/auth/setup", new { username = "owner", password = Password, setup_code = SetupCodeOnDisk });
            Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
            var info = await https.GetJsonAsync("/api/devices/info");
            certSha256 = info["cert_sha256"]!.GetValue<string>();
            serial = info["serial_number"]!.GetValue<string>();
            Assert.Equal(0, await node.TerminateAsync());
        }

        await using (var restarted = await NodeProcess.StartAsync(_dataDir))
        {
            Assert.DoesNotContain(restarted.Output, l => l.Contains("setup code"));
            Assert.DoesNotContain(restarted.Output, l => l.Contains(SetupCodeOnDisk));
            using var https = new Https(restarted.HttpUrl);
            var info = await https.GetJsonAsync("/api/devices/info");
            Assert.Equal(("configured", certSha256, serial),
                (info["state"]!.GetValue<string>(), info["cert_sha256"]!.GetValue<string>(), info["serial_number"]!.GetValue<string>()));
            Assert.Equal(HttpStatusCode.OK, (await https.PostJsonAsync("/api/auth/login", new { username = "owner", password = Password })).StatusCode);
        }
    }

    [Fact]
    public async Task An_owner_created_just_before_a_kill_9_is_there_after_restart()
    {
        await using (var node = await NodeProcess.StartAsync(_dataDir))
        {
            using var https = new Https(node.HttpUrl);
            var setup = await https.PostJsonAsync("/api/auth/setup", new { username = "owner", password = Password, setup_code = SetupCodeOnDisk });
            Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
            await node.KillAsync(); // the answer came after the journal write: nothing may be lost now
        }

        await using var restarted = await NodeProcess.StartAsync(_dataDir);
        using var again = new Https(restarted.HttpUrl);
        Assert.Equal("configured", (await again.GetJsonAsync("/api/devices/info"))["state"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await again.PostJsonAsync("/api/auth/login", new { username = "owner", password = Password })).StatusCode);
    }

    [Fact]
    public async Task Sigterm_shuts_down_cleanly_and_checkpoints_the_journal()
    {
        await using var node = await NodeProcess.StartAsync(_dataDir);

        Assert.Equal(0, await node.TerminateAsync());

        Assert.Contains("ABPA3 node stopped", node.Output);
        Assert.DoesNotContain(node.Output, l => l.Contains("Exception"));
        foreach (var database in new[] { "mesh.db", "mesh-snapshots.db" })
        {
            var wal = new FileInfo(Path.Combine(_dataDir, database + "-wal"));
            Assert.False(wal.Exists && wal.Length > 0, $"{database}'s WAL still holds unmerged pages after a clean stop");
        }
    }

    [Fact]
    public async Task Environment_variables_configure_the_node_and_options_win_over_them()
    {
        var environment = new Dictionary<string, string> { ["ABPA3__NODE__NAME"] = "From environment", ["ABPA3__NODE__PLAIN_HTTP"] = "on" };

        await using (var node = await NodeProcess.StartAsync(_dataDir, environment: environment))
        {
            Assert.Equal("http", node.HttpUrl.Scheme);
            using var http = new HttpClient { BaseAddress = node.HttpUrl };
            Assert.Contains("\"name\":\"From environment\"", await http.GetStringAsync("/api/devices/info"));
            await node.TerminateAsync();
        }

        await using (var node = await NodeProcess.StartAsync(_dataDir, ["--name", "From option"], environment))
        {
            using var http = new HttpClient { BaseAddress = node.HttpUrl };
            Assert.Contains("\"name\":\"From option\"", await http.GetStringAsync("/api/devices/info"));
        }
    }

    [Theory]
    [InlineData("--http-port", "not-a-number")]
    [InlineData("--bind", "not-an-address")]
    [InlineData("--http-port", "70000")]
    public async Task A_bad_option_stops_the_node_with_a_message_and_a_failure_code(string option, string value)
    {
        await using var node = NodeProcess.Launch(["--data-dir", _dataDir, "--remote-port", "0", option, value]);

        Assert.NotEqual(0, await node.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(node.Output, l => l.StartsWith("[stderr]") && (l.Contains(value) || l.Contains(option) || l.Contains("65535")));
        Assert.DoesNotContain(node.Output, l => l.Contains("   at "));
    }

    [Fact]
    public async Task A_port_already_in_use_is_reported_not_thrown()
    {
        await using var first = await NodeProcess.StartAsync(_dataDir);
        var secondDir = _dataDir + "-second";
        try
        {
            await using var second = NodeProcess.Launch(
                ["--data-dir", secondDir, "--bind", "127.0.0.1", "--http-port", first.HttpUrl.Port.ToString(), "--remote-port", "0"]);

            Assert.Equal(1, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains(second.Output, l => l.StartsWith("[stderr] ABPA3 node failed to start"));
        }
        finally
        {
            if (Directory.Exists(secondDir))
                Directory.Delete(secondDir, recursive: true);
        }
    }

    [Fact]
    public async Task A_second_node_on_the_same_data_directory_refuses_to_start()
    {
        await using var first = await NodeProcess.StartAsync(_dataDir);
        await using var second = NodeProcess.Launch(["--data-dir", _dataDir, "--bind", "127.0.0.1", "--http-port", "0", "--remote-port", "0"]);

        Assert.Equal(1, await second.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(second.Output, l => l.Contains("another node is using the data directory"));
        using var https = new Https(first.HttpUrl);
        Assert.Equal(first.DeviceId, (await https.GetJsonAsync("/api/devices/info"))["device_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_node_starts_even_when_its_actors_take_longer_to_recover_than_the_edge_waits_for_an_answer()
    {
        // ask-timeout bounds each HTTP request's wait for the actors (503 beyond); a busy machine may take longer than that to
        // recover the journal at start, which must not stop the node. A 1 ms ask-timeout makes every start such a start.
        await using var node = await NodeProcess.StartAsync(_dataDir, environment: new Dictionary<string, string> { ["ABPA3__NODE__ASK_TIMEOUT"] = "1ms" });

        Assert.Matches("^abpa3-[0-9a-f]{12}$", node.DeviceId);
        Assert.False(node.HasExited);
    }

    [Fact]
    public async Task An_invalid_setting_from_the_environment_is_reported_not_thrown()
    {
        await using var node = NodeProcess.Launch(["--data-dir", _dataDir, "--http-port", "0", "--remote-port", "0"],
            new Dictionary<string, string> { ["ABPA3__AUTH__LOGIN_PERMITS"] = "0" });

        Assert.Equal(1, await node.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains(node.Output, l => l.StartsWith("[stderr] ABPA3 node failed to start") && l.Contains("abpa3.auth"));
    }

    [Fact]
    public async Task Help_documents_every_option()
    {
        await using var node = NodeProcess.Launch(["--help"]);

        Assert.Equal(0, await node.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        foreach (var option in new[] { "--data-dir", "--name", "--device-id", "--bind", "--http-port", "--remote-port", "--plain-http" })
            Assert.Contains(node.Output, l => l.TrimStart().StartsWith(option));
    }
}
