using System.Net;
using System.Text.Json.Nodes;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Endpoints;

/// <summary><c>GET /api/devices</c> and <c>DELETE /api/devices/{id}</c> for client devices.</summary>
public class DeviceRegistrySpecs
{
    private static async Task<JsonObject> EntryAsync(TestNode node, string owner, string deviceId)
    {
        var list = await TestNode.ReadJsonAsync(await node.GetAsync("/api/devices", owner));
        return list["devices"]!.AsArray().Single(d => d!["device_id"]!.GetValue<string>() == deviceId)!.AsObject();
    }

    [Fact]
    public async Task The_registry_shows_paired_clients_online_and_last_seen()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        var phone = await node.PairClientAsync(owner);

        var offline = await EntryAsync(node, owner, phone.DeviceId);
        Assert.Equal(("Pixel 7", "client", "mobile", false, false),
            (offline["name"]!.GetValue<string>(), offline["kind"]!.GetValue<string>(), offline["role"]!.GetValue<string>(),
             offline["online"]!.GetValue<bool>(), offline["revoked"]!.GetValue<bool>()));
        var pairedAt = offline["paired_at"]!.GetValue<DateTimeOffset>();

        node.Clock.Advance(TimeSpan.FromMinutes(3));
        await using var socket = await RawSocket.ConnectAsync(node, phone.DeviceKey);
        await socket.ReceiveTypeAsync("welcome");
        var online = await EntryAsync(node, owner, phone.DeviceId);
        Assert.True(online["online"]!.GetValue<bool>());
        Assert.True(online["last_seen"]!.GetValue<DateTimeOffset>() >= pairedAt.AddMinutes(3));
    }

    [Fact]
    public async Task Revoking_is_for_owners_unknown_devices_are_404_and_revocation_survives_a_restart()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "abpa3-web-" + Guid.NewGuid().ToString("N"));
        try
        {
            string deviceId, key;
            await using (var node = await TestNode.StartAsync(dataDir: dataDir))
            {
                await node.SetupOwnerAsync();
                var owner = await node.LoginAsync();
                var phone = await node.PairClientAsync(owner);
                (deviceId, key) = (phone.DeviceId, phone.DeviceKey);

                await TestNode.AssertProblemAsync(await node.DeleteAsync($"/api/devices/{deviceId}"), 401);
                await TestNode.AssertProblemAsync(await node.DeleteAsync("/api/devices/no-such-device", owner), 404);
                Assert.Equal(HttpStatusCode.OK, (await node.DeleteAsync($"/api/devices/{deviceId}", owner)).StatusCode);
                Assert.Equal(HttpStatusCode.OK, (await node.DeleteAsync($"/api/devices/{deviceId}", owner)).StatusCode); // idempotent
            }
            await using (var restarted = await TestNode.StartAsync(dataDir: dataDir))
            {
                var owner = await restarted.LoginAsync();
                Assert.True((await EntryAsync(restarted, owner, deviceId))["revoked"]!.GetValue<bool>());
                await using var socket = await RawSocket.ConnectAsync(restarted, key);
                Assert.Equal(4403, await socket.ExpectCloseAsync());
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }
}

public class LastSeenSpecs
{
    [Fact]
    public async Task A_chatty_client_does_not_write_to_the_journal_on_every_message()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var phone = await node.PairClientAsync(await node.LoginAsync());
        await using var socket = await RawSocket.ConnectAsync(node, phone.DeviceKey);
        await socket.ReceiveTypeAsync("welcome");

        for (var i = 0; i < 40; i++)
        {
            await socket.SendJsonAsync(new { type = "publish", topic = "ui", id = $"m{i}", data = new { i } });
            await socket.ReceiveTypeAsync("ack");
        }

        // Paired (and so seen) moments ago: forty messages stay in memory.
        Assert.Equal(0L, await SeenEventsAsync(node));

        node.Clock.Advance(TimeSpan.FromSeconds(61)); // past the write interval: the next activity is written, once
        for (var i = 0; i < 5; i++)
        {
            await socket.SendJsonAsync(new { type = "publish", topic = "ui", id = $"late{i}", data = new { i } });
            await socket.ReceiveTypeAsync("ack");
        }
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (await SeenEventsAsync(node) == 0 && DateTime.UtcNow < deadline)
            await Task.Delay(50);
        Assert.Equal(1L, await SeenEventsAsync(node));
    }

    private static async Task<long> SeenEventsAsync(TestNode node)
    {
        await using var journal = new Microsoft.Data.Sqlite.SqliteConnection(
            Actors.Persistence.SqliteJournal.ConnectionString(Actors.Persistence.SqliteJournal.DatabasePath(node.DataDir)));
        await journal.OpenAsync();
        await using var count = journal.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM journal WHERE manifest = 'pairing.client-seen.v1'";
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
