using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Abpa3.Actors.Pairing;

namespace Abpa3.Bench;

/// <summary>
/// Device pairing end to end: <c>POST /api/devices/pair/initiate</c> on a manager until the answer says
/// <c>paired</c> (probe, the J-PAKE rounds over the 3072-bit group, both sides' journal writes, a last probe). Both
/// nodes are the Host, over HTTPS, as users run them; the manager is reused (each sensor is revoked after).
/// Each trial starts two fresh sensors (own process and data directory, idle for a second after start):
/// <list type="bullet">
/// <item>sensor A: first the baseline, <c>POST /api/devices/discover/manual</c> (the same hops from the manager
/// to an equally cold device, without the key exchange); then one pairing attempt with a wrong code (not
/// timed: it runs the whole key exchange on both sides and warms the target's code), then the pairing, timed
/// as "warm target";</item>
/// <item>sensor B: the pairing on a device that has served nothing yet, timed as "fresh sensor";</item>
/// <item>sensor C: the owner's own flow in the web UI: the device discovered first (not timed), then paired,
/// timed as "discovered, then paired".</item>
/// </list>
/// And in this process, the J-PAKE exchange alone (three rounds, both sides).
/// </summary>
public static class PairingLatencyBenchmark
{
    private const int WarmUpTrials = 2;
    private static readonly TimeSpan IdleBeforeMeasuring = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(int pairings)
    {
        Console.WriteLine($"pairings: {pairings} after {WarmUpTrials} warm-up, machine: {Environment.ProcessorCount} cores");
        await using var manager = NodeInstance.Fresh("manager");
        await manager.StartAsync();
        using var api = manager.Api();
        await api.ClaimAsync(manager.SetupCode!);

        var fresh = new List<double>();
        var warm = new List<double>();
        var discovered = new List<double>();
        var discover = new List<double>();
        var pake = new List<double>();
        for (var i = 0; i < WarmUpTrials + pairings; i++)
        {
            var (discoverMs, warmMs) = await WithFreshSensorAsync(async sensor =>
            {
                var discoverMs = await TimeAsync(() => api.DiscoverAsync(sensor.HttpPort));
                await WrongCodeAttemptAsync(api, sensor);
                string id = "";
                var warmMs = await TimeAsync(async () => id = await api.PairAsync(sensor.HttpPort, sensor.SetupCode!));
                await api.RevokeAsync(id);
                return (discoverMs, warmMs);
            });
            var freshMs = await WithFreshSensorAsync(async sensor =>
            {
                string id = "";
                var ms = await TimeAsync(async () => id = await api.PairAsync(sensor.HttpPort, sensor.SetupCode!));
                await api.RevokeAsync(id);
                return ms;
            });
            var discoveredMs = await WithFreshSensorAsync(async sensor =>
            {
                await api.DiscoverAsync(sensor.HttpPort);
                string id = "";
                var ms = await TimeAsync(async () => id = await api.PairAsync(sensor.HttpPort, sensor.SetupCode!));
                await api.RevokeAsync(id);
                return ms;
            });
            var pakeMs = PakeAlone();
            if (manager.Process!.Process.HasExited)
                throw new InvalidOperationException($"the manager stopped: {manager.Describe()}");
            if (i < WarmUpTrials)
                continue;
            fresh.Add(freshMs);
            warm.Add(warmMs);
            discovered.Add(discoveredMs);
            discover.Add(discoverMs);
            pake.Add(pakeMs);
            Console.WriteLine($"trial {fresh.Count}: fresh sensor {freshMs:F0} ms, discovered then paired {discoveredMs:F0} ms, warm target {warmMs:F0} ms, discover {discoverMs:F0} ms, J-PAKE alone {pakeMs:F0} ms");
        }

        Console.WriteLine();
        Console.WriteLine("| measure | p50 | p90 | min | max | ratio to discover (p50) |");
        Console.WriteLine("|---|---|---|---|---|---|");
        var baseline = Bench.Median(discover);
        Row("discover (baseline: the manager probes a fresh sensor once)", discover, baseline);
        Row("pair/initiate, fresh sensor (J-PAKE, 3072-bit group)", fresh, baseline);
        Row("pair/initiate, discovered first (the owner's flow)", discovered, baseline);
        Row("pair/initiate, warm target (after one wrong-code attempt)", warm, baseline);
        Row("J-PAKE exchange alone, both sides, in this process", pake, baseline);
        return 0;
    }

    private static void Row(string name, List<double> values, double baseline) =>
        Console.WriteLine($"| {name} | {Bench.Median(values):F0} ms | {Bench.Percentile(values, 90):F0} ms | {values.Min():F0} ms | {values.Max():F0} ms | {Bench.Median(values) / baseline:F2}× |");

    private static async Task<double> TimeAsync(Func<Task> action)
    {
        var started = Stopwatch.GetTimestamp();
        await action();
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>Starts a fresh sensor, lets it idle, runs <paramref name="use"/> against it, then stops it and deletes its data.</summary>
    private static async Task<T> WithFreshSensorAsync<T>(Func<NodeInstance, Task<T>> use)
    {
        await using var sensor = NodeInstance.Fresh("sensor");
        await sensor.StartAsync();
        await Task.Delay(IdleBeforeMeasuring);
        return await use(sensor);
    }

    private static async Task WrongCodeAttemptAsync(MeshApi api, NodeInstance sensor)
    {
        var wrong = sensor.SetupCode == "00000000" ? "11111111" : "00000000";
        using var response = await api.Http.PostAsJsonAsync("/api/devices/pair/initiate", new { target_ip = $"127.0.0.1:{sensor.HttpPort}", setup_code = wrong });
        if (response.StatusCode != HttpStatusCode.Forbidden)
            throw new InvalidOperationException($"a wrong setup code was answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The whole J-PAKE exchange of a pairing, both sides, computed here (ms).</summary>
    private static double PakeAlone()
    {
        const string code = "12345678";
        var context = new DevicePake.Context("abpa3-bench-manager", "abpa3-bench-target", new string('a', 64), new string('b', 64));
        var started = Stopwatch.GetTimestamp();
        var initiator = new PakeInitiator(context, code);
        var responder = new PakeResponder(context, code);
        var (round1, round2) = responder.Respond(initiator.Start()) ?? throw new InvalidOperationException("round 1 refused");
        var answer = initiator.Answer(round1, round2) ?? throw new InvalidOperationException("rounds 1-2 refused");
        var (confirmation, _) = responder.Accept(answer.Round2, answer.Confirmation) ?? throw new InvalidOperationException("round 2 refused");
        _ = initiator.Finish(confirmation) ?? throw new InvalidOperationException("confirmation refused");
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }
}
