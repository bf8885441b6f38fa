using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Abpa3.Host.Tests.Support;
using Xunit.Abstractions;

namespace Abpa3.Host.Tests;

/// <summary>
/// Tests that measure how long something takes run alone, so the other process tests do not compete with them
/// for the machine's cores.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimedProcessCollection
{
    public const string Name = "timed process tests";
}

/// <summary>
/// The peer link between a manager and a sensor running as two real node processes on loopback (SPEC §5, §7,
/// THREATS T8): pairing, kill -9, SIGSTOP/SIGCONT, a crash in the middle of pairing, revocation, and another device
/// answering at a peer's address, each judged by what the owner sees in <c>GET /api/devices</c>. Every node runs on fixed ports chosen up front,
/// so a restarted node comes back at the address its peer knows.
/// </summary>
[Collection(TimedProcessCollection.Name)]
public sealed class PeerLinkProcessSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>Liveness timeout is 800 ms; this leaves room for a busy 2-core machine.</summary>
    private static readonly TimeSpan OfflineWithin = TimeSpan.FromSeconds(3);
    /// <summary>How long a polling wait goes on before it reports failure: well beyond what a healthy link needs.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly Dictionary<string, string> FaultExitAfterPairAccept = new() { ["ABPA3__FAULTS__EXIT_AFTER_PAIR_ACCEPT"] = "on" };
    private static readonly Dictionary<string, string> NoFaults = new();

    private readonly List<MeshDevice> _nodes = [];
    private readonly Stopwatch _testClock = Stopwatch.StartNew();

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Kills every node this test started, deletes its data directory, and leaves its output in the test's log.</summary>
    public async Task DisposeAsync()
    {
        var failures = new List<Exception>();
        foreach (var node in _nodes)
        {
            try
            {
                await node.DisposeAsync();
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
            output.WriteLine($"---- {node.Label} output ----");
            foreach (var line in node.Output)
                output.WriteLine(line);
        }
        if (failures.Count > 0)
            throw new AggregateException("cleaning up the nodes failed", failures);
    }

    [Fact]
    public async Task Paired_manager_and_sensor_processes_list_each_other_online_with_their_roles()
    {
        var (manager, sensor) = await StartPairedAsync();

        var (sensorOnManager, _) = await EventuallyAsync(manager, sensor, Online, Patience, "the manager lists the sensor online");
        Assert.Equal(("peer", "sensor", false), (Kind(sensorOnManager), Role(sensorOnManager), Revoked(sensorOnManager)));
        var (managerOnSensor, _) = await EventuallyAsync(sensor, manager, Online, Patience, "the sensor lists the manager online");
        Assert.Equal(("peer", "manager", false), (Kind(managerOnSensor), Role(managerOnSensor), Revoked(managerOnSensor)));

        var managerInfo = await manager.Http.GetJsonAsync("/api/devices/info");
        Assert.Equal(("paired", true), (managerInfo["state"]!.GetValue<string>(), managerInfo["is_manager"]!.GetValue<bool>()));
        await AssertPairedToAsync(sensor, manager);
    }

    [Fact]
    public async Task A_sensor_killed_with_sigkill_goes_offline_and_after_a_restart_on_its_ports_is_back_online_without_pairing_again()
    {
        var (manager, sensor) = await StartPairedAsync();
        var (before, _) = await EventuallyAsync(manager, sensor, Online, Patience, "the manager lists the sensor online");

        var sinceKill = Stopwatch.StartNew();
        await sensor.KillAsync();
        var (_, offlineAfter) = await EventuallyAsync(manager, sensor, e => !Online(e), Patience, "the manager lists the killed sensor offline", sinceKill);
        Report($"kill -9 -> offline on the manager: {offlineAfter.TotalMilliseconds:0} ms");
        Assert.True(offlineAfter <= OfflineWithin,
            $"the manager took {offlineAfter.TotalMilliseconds:0} ms to list the killed sensor offline (bound {OfflineWithin.TotalSeconds} s)");

        var sinceRestart = Stopwatch.StartNew();
        await sensor.RestartAsync();
        var readyAfter = sinceRestart.Elapsed;
        var (after, onlineAfter) = await EventuallyAsync(manager, sensor, Online, Patience, "the manager lists the restarted sensor online", sinceRestart);
        Report($"sensor restart: ready after {readyAfter.TotalMilliseconds:0} ms, online on the manager after {onlineAfter.TotalMilliseconds:0} ms "
               + $"({(onlineAfter - readyAfter).TotalMilliseconds:0} ms after ready)");

        // The same pairing, not a new one.
        Assert.Equal(("peer", "sensor", false), (Kind(after), Role(after), Revoked(after)));
        Assert.Equal(PairedAt(before), PairedAt(after));
        await AssertPairedToAsync(sensor, manager);
        await sensor.LoginAsync();
        await EventuallyAsync(sensor, manager, Online, Patience, "the restarted sensor lists the manager online");
    }

    [Fact]
    public async Task A_sensor_suspended_with_sigstop_goes_offline_and_comes_back_by_itself_after_sigcont()
    {
        var (manager, sensor) = await StartPairedAsync();
        var (before, _) = await EventuallyAsync(manager, sensor, Online, Patience, "the manager lists the sensor online");
        await EventuallyAsync(sensor, manager, Online, Patience, "the sensor lists the manager online");

        var suspended = TimeSpan.FromSeconds(5);
        var sinceStop = Stopwatch.StartNew();
        sensor.Process.Suspend();
        try
        {
            var (_, offlineAfter) = await EventuallyAsync(manager, sensor, e => !Online(e), suspended, "the manager lists the suspended sensor offline", sinceStop);
            Report($"SIGSTOP -> offline on the manager: {offlineAfter.TotalMilliseconds:0} ms");
            Assert.True(offlineAfter <= OfflineWithin,
                $"the manager took {offlineAfter.TotalMilliseconds:0} ms to list the suspended sensor offline (bound {OfflineWithin.TotalSeconds} s)");
            // A frozen sensor sends nothing: it must not flicker back online while it is stopped.
            await AlwaysAsync(manager, sensor, e => !Online(e), suspended - sinceStop.Elapsed, "the manager lists the suspended sensor offline");
        }
        finally
        {
            sensor.Process.Resume();
        }

        var sinceContinue = Stopwatch.StartNew();
        var (after, onlineAfter) = await EventuallyAsync(manager, sensor, Online, Patience, "the manager lists the resumed sensor online", sinceContinue);
        var (managerSeen, managerOnlineAfter) = await EventuallyAsync(sensor, manager, Online, Patience, "the resumed sensor lists the manager online", sinceContinue);
        Report($"SIGCONT -> online on the manager: {onlineAfter.TotalMilliseconds:0} ms; the sensor lists the manager online after {managerOnlineAfter.TotalMilliseconds:0} ms");
        Assert.True(onlineAfter <= TimeSpan.FromSeconds(5), $"the resumed sensor took {onlineAfter.TotalMilliseconds:0} ms to be listed online again");

        Assert.Equal(("peer", "sensor", false, PairedAt(before)), (Kind(after), Role(after), Revoked(after), PairedAt(after)));
        Assert.Equal(("peer", "manager"), (Kind(managerSeen), Role(managerSeen)));
        await AssertPairedToAsync(sensor, manager);
    }

    [Fact]
    public async Task A_sensor_that_dies_right_after_accepting_completes_the_pairing_when_it_restarts_and_both_still_agree_after_the_manager_restarts()
    {
        var (manager, sensor) = await StartNodesAsync(sensorEnvironment: FaultExitAfterPairAccept);
        await manager.SetUpOwnerAsync();

        await AssertPairingLeftPendingAsync(manager, sensor);

        var sinceRestart = Stopwatch.StartNew();
        await sensor.RestartAsync(NoFaults);
        var (completed, agreedAfter) = await EventuallyAsync(manager, sensor, e => Kind(e) == "peer" && Online(e), Patience,
            "the manager lists the restarted sensor as a paired peer, online", sinceRestart);
        Report($"pending pairing completed and online {agreedAfter.TotalMilliseconds:0} ms after the sensor's restart began");
        Assert.Equal(("sensor", false), (Role(completed), Revoked(completed)));
        await AssertPairedToAsync(sensor, manager);
        // The sensor received the manager's owner account before it died: the same credentials log in.
        await sensor.LoginAsync();
        await EventuallyAsync(sensor, manager, e => Kind(e) == "peer" && Role(e) == "manager" && Online(e), Patience,
            "the sensor lists the manager as its online manager");

        // Both sides wrote the completed pairing: a crash of the manager now changes nothing.
        await manager.KillAsync();
        await manager.RestartAsync();
        await manager.LoginAsync();
        var (afterManagerRestart, _) = await EventuallyAsync(manager, sensor, e => Online(e), Patience, "the restarted manager lists the sensor online");
        Assert.Equal(("peer", "sensor", PairedAt(completed)), (Kind(afterManagerRestart), Role(afterManagerRestart), PairedAt(afterManagerRestart)));
        await AssertPairedToAsync(sensor, manager);
        await EventuallyAsync(sensor, manager, Online, Patience, "the sensor lists the restarted manager online");
    }

    [Fact]
    public async Task A_pairing_left_pending_by_a_crash_completes_after_both_devices_restart()
    {
        var (manager, sensor) = await StartNodesAsync(sensorEnvironment: FaultExitAfterPairAccept);
        await manager.SetUpOwnerAsync();
        await AssertPairingLeftPendingAsync(manager, sensor);

        // The manager crashes too before it heard anything: its pending record must survive on its own.
        await manager.KillAsync();
        await manager.RestartAsync();
        await manager.LoginAsync();
        var pending = await EntryAsync(manager, sensor);
        Assert.True(pending is not null && Kind(pending) == "peer-pending" && !Online(pending),
            $"after its restart the manager should still list the sensor as pending and offline: {pending?.ToJsonString() ?? "not listed"}");

        await sensor.RestartAsync(NoFaults);
        var (completed, _) = await EventuallyAsync(manager, sensor, e => Kind(e) == "peer" && Online(e), Patience,
            "the manager lists the restarted sensor as a paired peer, online");
        Assert.Equal("sensor", Role(completed));
        await AssertPairedToAsync(sensor, manager);
        await sensor.LoginAsync();
        await EventuallyAsync(sensor, manager, e => Kind(e) == "peer" && Online(e), Patience, "the sensor lists the manager online");
    }

    [Fact]
    public async Task A_revoked_sensor_goes_offline_and_stays_offline_and_revoked_across_restarts_of_both_devices()
    {
        var (manager, sensor) = await StartPairedAsync();
        await EventuallyAsync(manager, sensor, Online, Patience, "the manager lists the sensor online");
        await EventuallyAsync(sensor, manager, Online, Patience, "the sensor lists the manager online");

        var revoke = await manager.Http.DeleteAsync($"/api/devices/{sensor.DeviceId}");
        Assert.True(revoke.StatusCode == HttpStatusCode.OK, await revoke.Content.ReadAsStringAsync());
        var sinceRevoke = Stopwatch.StartNew();
        await EventuallyAsync(manager, sensor, e => Revoked(e) && !Online(e), Patience, "the manager lists the sensor revoked and offline", sinceRevoke);
        // The link is cut both ways: the sensor stops hearing the manager too.
        var (_, cutAfter) = await EventuallyAsync(sensor, manager, e => !Online(e), Patience, "the revoked sensor lists the manager offline", sinceRevoke);
        Report($"revoke -> the sensor lists the manager offline after {cutAfter.TotalMilliseconds:0} ms");
        await AlwaysAsync(manager, sensor, e => Revoked(e) && !Online(e), TimeSpan.FromSeconds(2), "the manager lists the revoked sensor revoked and offline");

        await Task.WhenAll(manager.KillAsync(), sensor.KillAsync());
        await Task.WhenAll(manager.RestartAsync(), sensor.RestartAsync());
        await Task.WhenAll(manager.LoginAsync(), sensor.LoginAsync());

        // The sensor still thinks it is paired and keeps dialling; the manager must not let it back in, and being
        // refused must not stop the sensor either.
        await Task.WhenAll(
            AlwaysAsync(manager, sensor, e => Revoked(e) && !Online(e) && Kind(e) == "peer", TimeSpan.FromSeconds(4),
                "after restarting both, the manager lists the revoked sensor revoked and offline"),
            AlwaysAsync(sensor, manager, e => !Online(e), TimeSpan.FromSeconds(4),
                "after restarting both, the revoked sensor lists the manager offline"));
        Assert.False(sensor.Process.HasExited, "the revoked sensor stopped:\n" + sensor.Tail());
    }

    [Fact]
    public async Task A_sensor_keeps_running_when_another_device_answers_at_its_managers_link_address()
    {
        var (manager, sensor) = await StartPairedAsync();
        await EventuallyAsync(sensor, manager, Online, Patience, "the sensor lists the manager online");

        // The manager is gone and another device holds its link address (a DHCP lease moved, or a LAN attacker took the
        // port): the sensor's next dial meets a certificate it has not pinned, which must cost the connection, not the node.
        await manager.KillAsync();
        var impostor = Track(new MeshDevice("impostor", Log, manager.Ports));
        await impostor.StartAsync();
        var impostorCert = (await impostor.Http.GetJsonAsync("/api/devices/info"))["cert_sha256"]!.GetValue<string>();
        var refusal = $"certificate {impostorCert} is not a paired device";

        var clock = Stopwatch.StartNew();
        while (!sensor.Output.Any(l => l.Contains(refusal)))
        {
            Assert.False(sensor.Process.HasExited, "the sensor exited when it met the impostor:\n" + sensor.Tail());
            Assert.True(clock.Elapsed < Patience, $"the sensor did not dial its manager's address within {Patience.TotalSeconds} s");
            await Task.Delay(PollInterval);
        }
        Log($"the sensor refused the impostor's certificate {clock.Elapsed.TotalMilliseconds:0} ms after the impostor was up");
        // It goes on dialing (with backoff) and refusing; it must stay up through several attempts.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.False(sensor.Process.HasExited, "the sensor exited after meeting the impostor:\n" + sensor.Tail());
        var seen = await EntryAsync(sensor, manager);
        Assert.True(seen is not null && !Online(seen) && Kind(seen) == "peer", $"the sensor should list its manager offline: {seen?.ToJsonString()}");
        await AssertPairedToAsync(sensor, manager);
    }

    // ---- steps ----

    private async Task<(MeshDevice Manager, MeshDevice Sensor)> StartNodesAsync(IReadOnlyDictionary<string, string>? sensorEnvironment = null)
    {
        var manager = Track(new MeshDevice("manager", Log));
        var sensor = Track(new MeshDevice("sensor", Log));
        await Task.WhenAll(manager.StartAsync(), sensor.StartAsync(sensorEnvironment));
        return (manager, sensor);
    }

    private async Task<(MeshDevice Manager, MeshDevice Sensor)> StartPairedAsync()
    {
        var (manager, sensor) = await StartNodesAsync();
        await manager.SetUpOwnerAsync();
        var response = await manager.PairAsync(sensor);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"pairing answered {(int)response.StatusCode}: {text}");
        Assert.Equal("paired", JsonNode.Parse(text)!["status"]!.GetValue<string>());
        // An unconfigured sensor received the manager's owner account.
        await sensor.LoginAsync();
        return (manager, sensor);
    }

    /// <summary>Pairs with a sensor that kills itself after committing: the manager cannot know the outcome and says so.</summary>
    private static async Task AssertPairingLeftPendingAsync(MeshDevice manager, MeshDevice sensor)
    {
        var response = await manager.PairAsync(sensor);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"pairing with a target that dies should answer 202, got {(int)response.StatusCode}: {text}");
        Assert.Equal("pending", JsonNode.Parse(text)!["status"]!.GetValue<string>());
        await sensor.Process.WaitForExitAsync(Patience);
        Assert.True(sensor.Process.HasExited, "the fault should have killed the sensor");
        var pending = await EntryAsync(manager, sensor);
        Assert.True(pending is not null && Kind(pending) == "peer-pending" && Role(pending) == "sensor" && !Online(pending),
            $"the manager should list the sensor as pending and offline: {pending?.ToJsonString() ?? "not listed"}");
    }

    private static async Task AssertPairedToAsync(MeshDevice sensor, MeshDevice manager)
    {
        var info = await sensor.Http.GetJsonAsync("/api/devices/info");
        Assert.Equal(("paired", false, manager.DeviceId),
            (info["state"]!.GetValue<string>(), info["is_manager"]!.GetValue<bool>(), info["manager_device_id"]?.GetValue<string>()));
    }

    // ---- observing GET /api/devices ----

    private static async Task<JsonObject?> EntryAsync(MeshDevice observer, MeshDevice subject)
    {
        JsonObject list;
        try
        {
            list = await observer.Http.GetJsonAsync("/api/devices");
        }
        catch (HttpRequestException) when (observer.Process.HasExited)
        {
            Assert.Fail($"the {observer.Label} exited (code {observer.Process.ExitCode}):\n{observer.Tail()}");
            throw;
        }
        return list["devices"]!.AsArray().Select(d => d!.AsObject()).SingleOrDefault(d => d["device_id"]!.GetValue<string>() == subject.DeviceId);
    }

    /// <summary>
    /// Polls <paramref name="observer"/>'s device list until its entry for <paramref name="subject"/> meets the condition,
    /// and says how long that took (from <paramref name="since"/> when given); fails with the last entry seen otherwise.
    /// </summary>
    private async Task<(JsonObject Entry, TimeSpan Elapsed)> EventuallyAsync(MeshDevice observer, MeshDevice subject, Func<JsonObject, bool> condition,
        TimeSpan timeout, string what, Stopwatch? since = null)
    {
        var clock = since ?? Stopwatch.StartNew();
        while (true)
        {
            var entry = await EntryAsync(observer, subject);
            if (entry is not null && condition(entry))
            {
                Log($"{what}: after {clock.Elapsed.TotalMilliseconds:0} ms");
                return (entry, clock.Elapsed);
            }
            if (clock.Elapsed > timeout)
                Assert.Fail($"{what}: not within {timeout.TotalSeconds:0.#} s; last entry: {entry?.ToJsonString() ?? "not listed"}");
            await Task.Delay(PollInterval);
        }
    }

    /// <summary>Polls for <paramref name="duration"/> and fails at the first entry that breaks the condition.</summary>
    private async Task AlwaysAsync(MeshDevice observer, MeshDevice subject, Func<JsonObject, bool> condition, TimeSpan duration, string what)
    {
        var clock = Stopwatch.StartNew();
        var observations = 0;
        do
        {
            var entry = await EntryAsync(observer, subject);
            Assert.True(entry is not null && condition(entry),
                $"{what}: broken after {clock.Elapsed.TotalMilliseconds:0} ms: {entry?.ToJsonString() ?? "not listed"}");
            observations++;
            await Task.Delay(PollInterval);
        } while (clock.Elapsed < duration);
        Assert.True(observations >= 2, $"{what}: only {observations} observation(s) in {duration.TotalSeconds:0.#} s");
        Log($"{what}: held for {clock.Elapsed.TotalMilliseconds:0} ms ({observations} observations)");
    }

    private static bool Online(JsonObject entry) => entry["online"]!.GetValue<bool>();
    private static bool Revoked(JsonObject entry) => entry["revoked"]!.GetValue<bool>();
    private static string Kind(JsonObject entry) => entry["kind"]!.GetValue<string>();
    private static string Role(JsonObject entry) => entry["role"]!.GetValue<string>();
    private static string PairedAt(JsonObject entry) => entry["paired_at"]!.GetValue<string>();

    private void Report(string line) => Log("timing: " + line);

    private void Log(string line) => output.WriteLine($"[{_testClock.Elapsed.TotalSeconds,5:0.0} s] {line}");

    private MeshDevice Track(MeshDevice node)
    {
        _nodes.Add(node);
        return node;
    }
}
