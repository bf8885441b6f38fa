using System.Diagnostics;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Device;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Remoting;
using Abpa3.Web;
using Microsoft.Extensions.DependencyInjection;

namespace Abpa3.Bench;

/// <summary>
/// Signed peer messaging between two processes beside raw Akka.Remote, in the same run.
/// Signed: this process hosts a node (the manager, <see cref="MeshNode"/>); the sensor is the Host in its own
/// process; the two are paired over HTTPS (J-PAKE), then a driver actor keeps a window of
/// <see cref="PeerProxyProtocol.Ping"/>s in flight through the device supervisor: each round trip is a signed
/// Ping envelope out and a signed Pong envelope back, through both proxies.
/// Baseline: a plain actor system here and an echo actor in a child process (<c>raw-echo</c>), with the node's
/// own remoting (TLS, mutual authentication, pinned certificates, <see cref="PeerWireSerializer"/>), sending
/// <see cref="PeerWire"/> messages of the size of a signed ping envelope, same window.
/// Runs alternate (baseline, signed, baseline, signed, …); medians across runs.
/// </summary>
public static class PeerThroughputBenchmark
{
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(3);

    private sealed record Run(string Mode, RoundTripDriver.Result Result, TimeSpan LocalCpu, TimeSpan ChildCpu, double MachineBusy)
    {
        public double CpuMicrosPerRoundTrip(TimeSpan cpu) => cpu.TotalMicroseconds / Result.RoundTrips;
    }

    public static async Task<int> RunAsync(int runs, int window, TimeSpan duration, bool ladder)
    {
        Console.WriteLine($"runs: {runs} of each{(ladder ? " (with the ladder)" : "")}, window: {window} in flight, {duration.TotalSeconds:0.#} s per run, machine: {Environment.ProcessorCount} cores");
        RawRemoting.Endpoint? raw = null;
        ChildProcess? echo = null;
        MeshNode? manager = null;
        string? managerDir = null;
        NodeInstance? sensor = null;
        try
        {
            // The signed link: a node here, a node there, paired as an owner would pair them.
            managerDir = Bench.TempDir("manager");
            manager = MeshNode.Create(MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(new Dictionary<string, string>
            {
                ["abpa3.node.data-dir"] = managerDir,
                ["abpa3.node.bind"] = "127.0.0.1",
                ["abpa3.node.http-port"] = "0",
                ["abpa3.node.remote-port"] = "0",
            }));
            await manager.StartAsync();
            sensor = NodeInstance.Fresh("sensor");
            await sensor.StartAsync();
            using var api = new MeshApi(Bench.NodeClient(manager.HttpUrl));
            await api.ClaimAsync(manager.Identity.SetupCode.Reveal());
            var sensorId = await api.PairAsync(sensor.HttpPort, sensor.SetupCode!);
            await api.WaitForOnlineAsync(sensorId, true, TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(10));
            var managerSystem = manager.Services.GetRequiredService<ActorSystem>();
            var supervisor = manager.Services.GetRequiredService<IRequiredActor<DeviceSupervisor>>().ActorRef;
            var counters = manager.Services.GetRequiredService<PeerLinkCounters>();
            Console.WriteLine($"signed: manager {manager.Identity.DeviceId} in this process ({manager.RemoteAddress}), sensor {sensorId} in process {sensor.Process!.Id}");

            // The baseline: the same remoting, nothing above it.
            raw = RawRemoting.Create("raw-driver");
            var pair = new RawRemoting.SignedPair(RandomNumberGenerator.GetBytes(32), manager.Identity.DeviceId.Value, sensorId);
            var inbox = raw.System.ActorOf(Props.Create(() => new RawInboxActor(null, false)), RawRemoting.InboxName);
            var signedInbox = raw.System.ActorOf(Props.Create(() => new RawInboxActor(pair, false)), RawRemoting.SignedInboxName);
            var batchedInbox = raw.System.ActorOf(Props.Create(() => new RawInboxActor(null, true)), RawRemoting.BatchedInboxName);
            echo = ChildProcess.StartSelf(["raw-echo", raw.Identity.CertSha256, RawRemoting.Address(raw.System),
                    Convert.ToHexString(pair.Secret), pair.Driver, pair.Echo],
                new Dictionary<string, string> { ["DOTNET_gcConcurrent"] = "0" }); // the Host's GC settings
            var ready = (await echo.WaitForLineAsync("raw echo ready: ")).Line.Split(' ');
            var (echoAddress, echoCert) = (ready[3], ready[4]);
            raw.Pins.Pin(echoCert);
            var echoRef = await raw.System.ActorSelection(echoAddress + "/user/" + RawRemoting.EchoName).ResolveOne(TimeSpan.FromSeconds(10));
            var selectionEcho = raw.System.ActorSelection(echoAddress + "/user/" + RawRemoting.SelectionEchoName);
            var signedEcho = raw.System.ActorSelection(echoAddress + "/user/" + RawRemoting.SignedEchoName);
            var batcher = raw.System.ActorOf(Props.Create(() => new RawBatcher(raw.System.ActorSelection(echoAddress + "/user/" + RawRemoting.BatchedEchoName))));
            var envelopeBytes = SignedPingEnvelopeSize(manager.Identity.DeviceId.Value, sensorId);
            var wire = new PeerWire(RandomNumberGenerator.GetBytes(envelopeBytes));
            var signer = pair.Signer(pair.Driver, pair.Echo);
            var (pingManifest, pingPayload) = PeerPayloadCodec.Encode(new PeerPayloads.Ping(123_456));
            Console.WriteLine($"baseline: {RawRemoting.Address(raw.System)} in this process, echo {echoAddress} in process {echo.Id}; {envelopeBytes}-byte PeerWire messages (a signed ping envelope)");

            Task<Run> Baseline(TimeSpan time) => MeasureAsync("baseline", echo.Id, () =>
                RoundTrips.RunAsync(raw.System, echoRef, () => wire, typeof(PeerWire), window, time));
            Task<Run> Selection(TimeSpan time) => MeasureAsync("selection", echo.Id, () =>
                RoundTrips.RunAsync(raw.System, selectionEcho, () => wire, typeof(PeerWire), window, time, inbox));
            Task<Run> Envelope(TimeSpan time) => MeasureAsync("selection+envelope", echo.Id, () =>
                RoundTrips.RunAsync(raw.System, signedEcho, () => new PeerWire(signer.Sign(pingManifest, pingPayload).Encode()),
                    typeof(SignedEnvelope), window, time, signedInbox));
            Task<Run> Batched(TimeSpan time) => MeasureAsync("batched", echo.Id, () =>
                RoundTrips.RunAsync(raw.System, batcher, () => wire, typeof(PeerWire), window, time, batchedInbox));
            Task<Run> Signed(TimeSpan time) => MeasureAsync("signed", sensor.Process!.Id, () =>
                RoundTrips.RunAsync(managerSystem, supervisor, () => new PeerProxyProtocol.Ping(sensorId), typeof(PeerProxyProtocol.PingReply), window, time));

            Func<TimeSpan, Task<Run>>[] modes = ladder ? [Baseline, Batched, Selection, Envelope, Signed] : [Baseline, Batched, Signed];
            foreach (var warmUp in modes)
                await warmUp(WarmUp); // JIT, connections, tiering: not measured
            var results = new List<Run>();
            for (var i = 0; i < runs; i++)
            {
                foreach (var measure in modes)
                {
                    var run = await measure(duration);
                    results.Add(run);
                    Console.WriteLine($"run {i + 1} {run.Mode,-18}: {run.Result.PerSecond,8:F0} round trips/s ({2 * run.Result.PerSecond:F0} msgs/s), " +
                                      $"CPU/round trip: this process {run.CpuMicrosPerRoundTrip(run.LocalCpu):F1} µs, other {run.CpuMicrosPerRoundTrip(run.ChildCpu):F1} µs, " +
                                      $"machine {100 * run.MachineBusy:F0} % busy" +
                                      (run.Result.Refills > 0 ? $", STALLED {run.Result.Refills}× (lost {run.Result.Lost})" : ""));
                }
            }
            Console.WriteLine($"manager link counters after the runs: accepted {counters.Accepted}, dropped {counters.Dropped}");

            var baselineRate = Bench.Median(results.Where(r => r.Mode == "baseline").Select(r => r.Result.PerSecond).ToList());
            var signedRate = Bench.Median(results.Where(r => r.Mode == "signed").Select(r => r.Result.PerSecond).ToList());
            var batchedRate = Bench.Median(results.Where(r => r.Mode == "batched").Select(r => r.Result.PerSecond).ToList());
            Console.WriteLine();
            Console.WriteLine("| link | round trips/s (median) | msgs/s (median) | min – max msgs/s | CPU per round trip, driver side / echo side (median) | ratio |");
            Console.WriteLine("|---|---|---|---|---|---|");
            Row("raw Akka.Remote (TLS, PeerWire, echo actor by reference)", results.Where(r => r.Mode == "baseline").ToList(), baselineRate);
            Row("raw, batched as the proxy batches, by selection both ways + one inbox hop (no signing)", results.Where(r => r.Mode == "batched").ToList(), baselineRate);
            if (ladder)
            {
                Row("raw, by selection both ways + one inbox hop", results.Where(r => r.Mode == "selection").ToList(), baselineRate);
                Row("raw, by selection + signed envelope (sign, decode, verify)", results.Where(r => r.Mode == "selection+envelope").ToList(), baselineRate);
            }
            Row("signed PeerProxy link (Ping → Pong)", results.Where(r => r.Mode == "signed").ToList(), baselineRate);
            Console.WriteLine();
            Console.WriteLine($"ratio signed / raw (median msgs/s): {signedRate / baselineRate:F2}×; signed / raw batched the same way: {signedRate / batchedRate:F2}×");

            Console.WriteLine();
            PerMessageCosts(manager.Identity.DeviceId.Value, sensorId);
            return 0;
        }
        finally
        {
            // The side that stops first sees no errors: each driver side goes before its echo side.
            if (raw is not null)
            {
                await raw.System.Terminate();
                Bench.DeleteDir(raw.DataDir);
            }
            if (echo is not null)
                await echo.DisposeAsync();
            if (manager is not null)
                await manager.DisposeAsync();
            if (managerDir is not null)
                Bench.DeleteDir(managerDir);
            if (sensor is not null)
                await sensor.DisposeAsync();
        }
    }

    private static void Row(string name, List<Run> runs, double baselineRate)
    {
        var rates = runs.Select(r => r.Result.PerSecond).ToList();
        var median = Bench.Median(rates);
        var local = Bench.Median(runs.Select(r => r.CpuMicrosPerRoundTrip(r.LocalCpu)).ToList());
        var child = Bench.Median(runs.Select(r => r.CpuMicrosPerRoundTrip(r.ChildCpu)).ToList());
        Console.WriteLine($"| {name} | {median:F0} | {2 * median:F0} | {2 * rates.Min():F0} – {2 * rates.Max():F0} | {local:F1} µs / {child:F1} µs | {median / baselineRate:F2}× |");
    }

    private static async Task<Run> MeasureAsync(string mode, int childPid, Func<Task<RoundTripDriver.Result>> drive)
    {
        var self = Process.GetCurrentProcess();
        var localBefore = self.TotalProcessorTime;
        var childBefore = ChildProcess.CpuTime(childPid);
        var machineBefore = ChildProcess.MachineCpu();
        var result = await drive();
        self.Refresh();
        var machineAfter = ChildProcess.MachineCpu();
        var run = new Run(mode, result, self.TotalProcessorTime - localBefore, ChildProcess.CpuTime(childPid) - childBefore,
            (machineAfter.Busy - machineBefore.Busy) / (double)Math.Max(1, machineAfter.Total - machineBefore.Total));
        await Task.Delay(500); // the last replies of the window drain before the next run
        return run;
    }

    /// <summary>The wire size of a signed ping between these two devices (a 6-digit ping id, as most of a run's are).</summary>
    private static int SignedPingEnvelopeSize(string self, string peer)
    {
        var signer = new EnvelopeSigner(self, peer, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000,
            PairKeys.Derive(RandomNumberGenerator.GetBytes(32), self, peer), TimeProvider.System);
        var (manifest, bytes) = PeerPayloadCodec.Encode(new PeerPayloads.Ping(123_456));
        return signer.Sign(manifest, bytes).Encode().Length;
    }

    /// <summary>
    /// What each message costs above raw remoting, measured here on one thread: the payload codec, signing and
    /// encoding the envelope, decoding and verifying it. A round trip does each of these twice (ping and pong).
    /// </summary>
    private static void PerMessageCosts(string self, string peer)
    {
        const int count = 200_000;
        var secret = RandomNumberGenerator.GetBytes(32);
        var signer = new EnvelopeSigner(self, peer, 1, PairKeys.Derive(secret, self, peer), TimeProvider.System);
        var verifier = new EnvelopeVerifier(peer, self, PairKeys.Derive(secret, peer, self), TimeSpan.FromMinutes(5), TimeProvider.System);
        var encoded = new byte[count][];
        var manifests = new string[count];
        var payloads = new byte[count][];

        for (var round = 0; round < 2; round++) // the first round warms up
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
                (manifests[i], payloads[i]) = PeerPayloadCodec.Encode(new PeerPayloads.Ping(100_000 + i));
            var encodePayload = clock.Elapsed;
            clock.Restart();
            for (var i = 0; i < count; i++)
                encoded[i] = signer.Sign(manifests[i], payloads[i]).Encode();
            var sign = clock.Elapsed;
            clock.Restart();
            var accepted = 0;
            for (var i = 0; i < count; i++)
                if (SignedEnvelope.Decode(encoded[i]) is { } envelope && verifier.Verify(envelope) == EnvelopeVerdict.Accepted)
                    accepted++;
            var verify = clock.Elapsed;
            clock.Restart();
            for (var i = 0; i < count; i++)
                _ = PeerPayloadCodec.Decode(manifests[i], payloads[i]);
            var decodePayload = clock.Elapsed;
            clock.Restart();
            var key = RandomNumberGenerator.GetBytes(32);
            var mac = new byte[32];
            for (var i = 0; i < count; i++)
                HMACSHA256.HashData(key, encoded[i].AsSpan(0, encoded[i].Length - SignedEnvelope.MacLength), mac);
            var hmac = clock.Elapsed;
            if (round == 1)
            {
                if (accepted != count)
                    throw new InvalidOperationException($"only {accepted} of {count} envelopes verified");
                double Micros(TimeSpan t) => t.TotalMicroseconds / count;
                Console.WriteLine("per-message costs on one thread of this process (a round trip pays each twice):");
                Console.WriteLine("| payload encode (STJ) | sign + encode envelope | decode + verify envelope | payload decode (STJ) | sum | of which HMAC-SHA256 alone (×2) |");
                Console.WriteLine("|---|---|---|---|---|---|");
                Console.WriteLine($"| {Micros(encodePayload):F2} µs | {Micros(sign):F2} µs | {Micros(verify):F2} µs | {Micros(decodePayload):F2} µs | " +
                                  $"{Micros(encodePayload + sign + verify + decodePayload):F2} µs | {2 * Micros(hmac):F2} µs |");
            }
        }
    }
}
