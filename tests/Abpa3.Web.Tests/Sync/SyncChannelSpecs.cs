using System.Diagnostics;
using Abpa3.Client;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Sync;

/// <summary>Seed 000 end to end on a real node over HTTPS: QR → pair → sync → drop → resume → revoke.</summary>
public class SyncChannelSpecs
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static async Task<SyncNotice.Event> NextEventAsync(SyncClient client, string topic)
    {
        using var cancel = new CancellationTokenSource(Patience);
        while (true)
        {
            var notice = await client.Notices.ReadAsync(cancel.Token);
            if (notice is SyncNotice.Event e && e.Topic == topic)
                return e;
            Assert.False(notice is SyncNotice.Resync, $"unexpected resync: {notice}");
        }
    }

    private static async Task<T> NextAsync<T>(SyncClient client) where T : SyncNotice
    {
        using var cancel = new CancellationTokenSource(Patience);
        while (true)
            if (await client.Notices.ReadAsync(cancel.Token) is T wanted)
                return wanted;
    }

    [Fact]
    public async Task Two_paired_clients_sync_and_a_dropped_one_gets_exactly_what_it_missed_until_it_is_revoked()
    {
        await using var node = await TestNode.StartAsync(plainHttp: false);
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        var phone = await node.PairClientAsync(owner, "Phone");
        var tablet = await node.PairClientAsync(owner, "Tablet", "tablet");

        await using var phoneSync = new SyncClient(phone, "ui");
        await using var tabletSync = new SyncClient(tablet, "ui");
        phoneSync.Start();
        tabletSync.Start();
        await NextAsync<SyncNotice.Connected>(phoneSync);
        await NextAsync<SyncNotice.Connected>(tabletSync);
        await Task.Delay(200); // both subscriptions registered

        var seq = await phoneSync.PublishAsync("ui", new { screen = "home" });
        var received = await NextEventAsync(tabletSync, "ui");
        Assert.Equal((1L, phone.DeviceId), (seq, received.Source));
        Assert.Equal((1L, "home"), (received.Seq, received.Data!["screen"]!.GetValue<string>()));

        // The tablet loses its connection; three events are published while it is away.
        tabletSync.Drop();
        await NextAsync<SyncNotice.Disconnected>(tabletSync);
        for (var i = 2; i <= 4; i++)
            await phoneSync.PublishAsync("ui", new { screen = $"page-{i}" });

        await NextAsync<SyncNotice.Connected>(tabletSync);
        var missed = new List<SyncNotice.Event>();
        for (var i = 0; i < 3; i++)
            missed.Add(await NextEventAsync(tabletSync, "ui"));
        Assert.Equal([2L, 3, 4], missed.Select(e => e.Seq));
        Assert.Equal(["page-2", "page-3", "page-4"], missed.Select(e => e.Data!["screen"]!.GetValue<string>()));
        // Nothing else is pending: the next event is the next live one.
        await phoneSync.PublishAsync("ui", new { screen = "live" });
        Assert.Equal(5, (await NextEventAsync(tabletSync, "ui")).Seq);

        // Revoke the tablet: its socket closes with 4403 within a second and it cannot come back.
        var clock = Stopwatch.StartNew();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await node.DeleteAsync($"/api/devices/{tablet.DeviceId}", owner)).StatusCode);
        var closed = await NextAsync<SyncNotice.Disconnected>(tabletSync);
        Assert.Equal(4403, closed.CloseCode);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"closed after {clock.Elapsed}");
        Assert.Equal(4403, tabletSync.FatalCloseCode);
        await using var again = await RawSocket.ConnectAsync(node, tablet.DeviceKey);
        Assert.Equal(4403, await again.ExpectCloseAsync());

        // The phone was never disturbed.
        Assert.Equal(6, await phoneSync.PublishAsync("ui", new { screen = "still-here" }));
    }

    [Fact]
    public async Task A_paired_client_reconnects_after_a_node_restart_without_pairing_again_and_is_told_to_resync()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "abpa3-web-" + Guid.NewGuid().ToString("N"));
        try
        {
            PairedCredentials phone;
            string revokedKey;
            await using (var node = await TestNode.StartAsync(dataDir: dataDir, plainHttp: false))
            {
                await node.SetupOwnerAsync();
                var owner = await node.LoginAsync();
                // The phone keeps its credentials in a file of its own, as the reference client does.
                (await node.PairClientAsync(owner)).Save(Path.Combine(dataDir, "..", Path.GetFileName(dataDir) + "-phone.json"));
                phone = PairedCredentials.Load(Path.Combine(dataDir, "..", Path.GetFileName(dataDir) + "-phone.json"));
                var revoked = await node.PairClientAsync(owner, "Old phone");
                revokedKey = revoked.DeviceKey;
                await node.DeleteAsync($"/api/devices/{revoked.DeviceId}", owner);
                await using var before = new SyncClient(phone, "ui");
                before.Start();
                await NextAsync<SyncNotice.Connected>(before);
                await Task.Delay(200);
                await before.PublishAsync("ui", new { n = 1 });
            }

            // Same port after the restart, as a real device keeps its configured port.
            await using (var restarted = await TestNode.StartAsync(
                             new Dictionary<string, string> { ["abpa3.node.http-port"] = phone.Port.ToString() }, dataDir, plainHttp: false))
            {
                await using var sync = new SyncClient(phone, "ui");
                sync.Start();
                var connected = await NextAsync<SyncNotice.Connected>(sync);
                Assert.False(string.IsNullOrEmpty(connected.Epoch));
                await Task.Delay(200);
                Assert.Equal(1, await sync.PublishAsync("ui", new { n = 2 }));

                await using var revoked = await RawSocket.ConnectAsync(restarted, revokedKey);
                Assert.Equal(4403, await revoked.ExpectCloseAsync());
            }
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
            File.Delete(Path.Combine(dataDir, "..", Path.GetFileName(dataDir) + "-phone.json"));
        }
    }

    [Fact]
    public async Task A_client_that_resumes_across_a_node_restart_gets_resync_required_not_silence()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "abpa3-web-" + Guid.NewGuid().ToString("N"));
        try
        {
            PairedCredentials phone;
            string epoch;
            await using (var node = await TestNode.StartAsync(dataDir: dataDir))
            {
                await node.SetupOwnerAsync();
                phone = await node.PairClientAsync(await node.LoginAsync());
                await using var socket = await RawSocket.ConnectAsync(node, phone.DeviceKey);
                epoch = (await socket.ReceiveTypeAsync("welcome"))["epoch"]!.GetValue<string>();
            }
            await using var restarted = await TestNode.StartAsync(dataDir: dataDir);
            await using var resumed = await RawSocket.ConnectAsync(restarted, phone.DeviceKey);
            var welcome = await resumed.ReceiveTypeAsync("welcome");
            Assert.NotEqual(epoch, welcome["epoch"]!.GetValue<string>());

            await resumed.SendJsonAsync(new { type = "subscribe", topics = new[] { "ui" }, since = new { ui = 7 }, epoch });

            var resync = await resumed.ReceiveTypeAsync("resync_required");
            Assert.Equal(("ui", 0L), (resync["topic"]!.GetValue<string>(), resync["seq"]!.GetValue<long>()));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task The_owners_browser_authenticates_with_its_access_token_in_the_first_message()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        await using var browser = await RawSocket.ConnectAsync(node);

        await browser.SendJsonAsync(new { type = "auth", access_token = owner });

        var welcome = await browser.ReceiveTypeAsync("welcome");
        Assert.Equal("user:owner", welcome["device_id"]!.GetValue<string>());
        await browser.SendJsonAsync(new { type = "ping" });
        await browser.ReceiveTypeAsync("pong");
    }

    [Fact]
    public async Task A_stopping_node_closes_open_sockets_with_going_away_instead_of_waiting_for_them()
    {
        var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        await using var browser = await RawSocket.ConnectAsync(node);
        await browser.SendJsonAsync(new { type = "auth", access_token = owner });
        await browser.ReceiveTypeAsync("welcome");
        var closed = browser.ExpectCloseAsync(TimeSpan.FromSeconds(10));

        // Kestrel's graceful stop waits for open requests, a socket included, for the host's whole shutdown timeout (30 s).
        var watch = Stopwatch.StartNew();
        await node.DisposeAsync();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"the node took {watch.Elapsed} to stop with a socket open");
        Assert.Equal(1001, await closed);
    }

    [Fact]
    public async Task A_client_that_does_not_read_never_holds_up_the_others_and_learns_what_it_lost()
    {
        await using var node = await TestNode.StartAsync(new Dictionary<string, string>
        {
            ["abpa3.sync.outbox-capacity"] = "16",
            ["abpa3.sync.replay-buffer-per-topic"] = "64",
            ["abpa3.sync.messages-per-second"] = "100000",
            ["abpa3.sync.message-burst"] = "100000",
        });
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        var slow = await node.PairClientAsync(owner, "Slow");
        var fast = await node.PairClientAsync(owner, "Fast");
        var publisher = await node.PairClientAsync(owner, "Publisher");

        await using var slowSocket = await RawSocket.ConnectAsync(node, slow.DeviceKey);
        await slowSocket.ReceiveTypeAsync("welcome");
        await slowSocket.SendJsonAsync(new { type = "subscribe", topics = new[] { "ui" } });
        await using var fastSync = new SyncClient(fast, "ui");
        await using var publishSync = new SyncClient(publisher, "ui");
        fastSync.Start();
        publishSync.Start();
        await NextAsync<SyncNotice.Connected>(fastSync);
        await NextAsync<SyncNotice.Connected>(publishSync);
        await Task.Delay(300);

        // A big payload fills the slow client's socket buffers quickly while it reads nothing.
        var padding = new string('x', 32 * 1024);
        const int Events = 1000;
        var publishing = Task.Run(async () =>
        {
            for (var i = 1; i <= Events; i++)
                await publishSync.PublishAsync("ui", new { i, padding });
        });
        for (var expected = 1; expected <= Events; expected++)
            Assert.Equal(expected, (await NextEventAsync(fastSync, "ui")).Seq);
        await publishing;

        // Now the slow client reads: in order, without a silent gap, it either gets every event or is told to resync.
        var lastSeq = 0L;
        var resynced = false;
        var resyncs = 0;
        while (lastSeq < Events)
        {
            var message = await slowSocket.ReceiveAsync() ?? throw new InvalidOperationException("slow client was closed");
            switch (message["type"]!.GetValue<string>())
            {
                case "event":
                    var seq = message["seq"]!.GetValue<long>();
                    Assert.True(seq == lastSeq + 1 || resynced, $"gap: {lastSeq} → {seq} without resync_required");
                    Assert.True(seq > lastSeq);
                    lastSeq = seq;
                    resynced = false;
                    break;
                case "resync_required":
                    resynced = true;
                    resyncs++;
                    lastSeq = Math.Max(lastSeq, message["seq"]!.GetValue<long>());
                    break;
            }
        }
        // 32 MB did not fit into the socket buffers: the slow path really was taken.
        Assert.True(resyncs > 0, "the slow client never lagged; the test did not exercise the outbox limit");
    }

    [Fact]
    public async Task A_client_resumes_from_where_it_first_subscribed_not_from_the_start_of_the_buffer()
    {
        await using var node = await TestNode.StartAsync();
        await node.SetupOwnerAsync();
        var owner = await node.LoginAsync();
        var early = await node.PairClientAsync(owner, "Early");
        var late = await node.PairClientAsync(owner, "Late");
        await using var earlySync = new SyncClient(early, "ui");
        earlySync.Start();
        await NextAsync<SyncNotice.Connected>(earlySync);
        await Task.Delay(200);
        for (var i = 1; i <= 5; i++)
            await earlySync.PublishAsync("ui", new { i }); // before the late client ever connects

        await using var lateSync = new SyncClient(late, "ui");
        lateSync.Start();
        await NextAsync<SyncNotice.Connected>(lateSync);
        await Task.Delay(200);
        lateSync.Drop();
        await NextAsync<SyncNotice.Disconnected>(lateSync);
        await NextAsync<SyncNotice.Connected>(lateSync);
        await Task.Delay(200);
        await earlySync.PublishAsync("ui", new { i = 6 });

        Assert.Equal(6, (await NextEventAsync(lateSync, "ui")).Seq); // 1–5 predate it and are not replayed
    }
}
