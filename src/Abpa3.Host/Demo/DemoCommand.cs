using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Akka.Configuration;
using Abpa3.Actors.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Abpa3.Host.Demo;

/// <summary>
/// <c>demo</c> (SPEC §8): a manager and two sensors on loopback in this one process, claimed and paired
/// through their real HTTP APIs, described on the console, and a scan run across the sensors with a progress bar
/// (<see cref="DemoScan"/>, unless <c>--no-scan</c>); then it waits for Ctrl+C or SIGTERM. The data stays in
/// <c>&lt;data-dir&gt;/demo</c>, so the next run brings back the same devices, owner and pairings.
/// </summary>
public static class DemoCommand
{
    public const string Username = "owner";
    private static readonly TimeSpan OnlinePatience = TimeSpan.FromSeconds(10);

    private static readonly (string Key, string Role, string Name)[] Layout =
    [
        ("manager", "manager", "Demo manager"),
        ("sensor-1", "sensor", "Demo sensor 1"),
        ("sensor-2", "sensor", "Demo sensor 2"),
    ];

    private static readonly Option<string> DataDir = new("--data-dir")
    {
        Description = "Data directory; the demo keeps its three nodes in <data-dir>/demo. Default ./data",
    };

    private static readonly Option<int?> HttpPort = new("--http-port")
    {
        Description = "HTTPS port of the manager (default 8000; a free port if it is taken; 0 = a free port). The sensors take free ports",
    };

    private static readonly Option<bool> NoScan = new("--no-scan")
    {
        Description = "Do not run the demo scan across the sensors once they are paired",
    };

    public static Command Create()
    {
        var demo = new Command("demo", "Run a manager and two sensors on 127.0.0.1 in one process, paired through their HTTP APIs, and a scan across the sensors")
        {
            DataDir, HttpPort, NoScan,
        };
        demo.SetAction((result, cancellationToken) => RunAsync(result, cancellationToken));
        return demo;
    }

    private static async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true; // the nodes are stopped below, in order, not by the runtime
            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The signal is handled on its own thread, which can come after the nodes' own hosts saw it and the demo ended.
            }
        }
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        var nodes = new List<DemoNode>();
        try
        {
            var config = LoadConfig(result);
            var files = new DemoFiles(Path.Combine(config.GetString("abpa3.node.data-dir"), "demo"));
            Console.WriteLine($"ABPA3 demo: a manager and two sensors on 127.0.0.1, data in {files.Directory}");
            var password = files.LoadOrCreatePassword();

            var remembered = files.LoadPorts();
            foreach (var (key, role, name) in Layout)
            {
                var wanted = WantedPorts(key, result.GetValue(HttpPort), remembered.GetValueOrDefault(key));
                nodes.Add(await DemoNode.StartAsync(key, role, name, files.NodeDirectory(key), config, wanted, Console.Out, stop.Token));
            }
            files.SavePorts(nodes.ToDictionary(n => n.Key, n => n.Ports));

            var manager = nodes[0];
            var sensors = nodes.Skip(1).ToList();
            var setup = new DemoSetup(manager, sensors, Username, password, $"remove {files.Directory} to start the demo afresh", Console.Out);
            var token = await setup.ClaimAndSignInAsync(stop.Token);
            // A link finds its peer where it last was and follows it from there, so it is lost only when both ends moved.
            var moved = nodes.Where(n => remembered.GetValueOrDefault(n.Key)?.Remote != n.Ports.Remote).ToHashSet();
            await setup.PairSensorsAsync(token, sensor => moved.Contains(manager) && moved.Contains(sensor)
                ? "it and the manager both listen on other ports than last time, so neither can tell the other" : null, stop.Token);
            var peers = await setup.WaitUntilOnlineAsync(token, OnlinePatience, stop.Token);
            if (peers.Offline.Count > 0)
            {
                var offline = peers.Offline.ToHashSet();
                await setup.PairSensorsAsync(token, sensor => offline.Contains(sensor)
                    ? $"the manager has not heard from it in {OnlinePatience.TotalSeconds:0} s" : null, stop.Token);
                peers = await setup.WaitUntilOnlineAsync(token, OnlinePatience, stop.Token);
            }

            await PrintSummaryAsync(nodes, files, password, peers, stop.Token);
            if (!result.GetValue(NoScan))
                await new DemoScan(manager, sensors, Console.Out, DemoScan.IsTerminal()).RunAsync(token, stop.Token);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            await StopAsync(nodes);
            await Console.Error.WriteLineAsync("ABPA3 demo interrupted before it was ready");
            return 130;
        }
        catch (Exception e)
        {
            // Whatever went wrong (a port, a pairing, the data directory), one line saying what.
            await Console.Error.WriteLineAsync($"ABPA3 demo failed: {e.Message}");
            await StopAsync(nodes);
            return 1;
        }

        Console.WriteLine("ABPA3 demo ready: Ctrl+C stops all three nodes");
        await WaitForStopAsync(nodes, stop.Token);
        Console.WriteLine("ABPA3 demo stopping");
        await StopAsync(nodes);
        Console.WriteLine("ABPA3 demo stopped");
        return 0;
    }

    /// <summary>hocon/ files and ABPA3__ environment variables, as for a node; what tells the three nodes apart is set per node.</summary>
    private static Config LoadConfig(ParseResult result)
    {
        var overrides = new Dictionary<string, string>(MeshConfig.FromEnvironment(Environment.GetEnvironmentVariables()));
        foreach (var key in new[] { "name", "device-id", "bind", "http-port", "remote-port" })
            overrides.Remove($"abpa3.node.{key}");
        if (result.GetValue(DataDir) is { } dataDir)
            overrides["abpa3.node.data-dir"] = dataDir;
        return MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(overrides);
    }

    /// <summary>
    /// The manager on the port asked for (8000 by default) and its link on the port it had last time (else the
    /// next one); the sensors on the ports they had last time (else free ones). The same ports again let the
    /// paired nodes find each other where they last were.
    /// </summary>
    private static DemoPorts WantedPorts(string key, int? httpPort, DemoPorts? last)
    {
        if (key != "manager")
            return last ?? DemoPorts.Free;
        var http = httpPort ?? 8000;
        return new DemoPorts(http, last?.Remote ?? (http is > 0 and < 65535 ? http + 1 : 0));
    }

    private static async Task PrintSummaryAsync(IReadOnlyList<DemoNode> nodes, DemoFiles files, string password,
        DemoSetup.Peers peers, CancellationToken cancellationToken)
    {
        var output = Console.Out;
        await output.WriteLineAsync();
        foreach (var node in nodes)
        {
            var info = await node.GetAsync("/api/devices/info", null, $"reading {node.Key}'s state", cancellationToken);
            await output.WriteLineAsync($"{node.Key,-9} {info["name"]}");
            await Field("role", node.Role);
            await Field("url", node.Url);
            await Field("device_id", node.DeviceId);
            await Field("cert_sha256", node.Node.Identity.CertSha256);
            await Field("remote", node.Node.RemoteAddress);
            await Field("state", info["state"]?.ToString() ?? "");
        }

        await output.WriteLineAsync();
        await output.WriteLineAsync("owner login (the sensors took the manager's owner account when they were paired):");
        await Field("username", Username);
        await Field("password", $"{password}   (kept in {files.PasswordPath})");

        await output.WriteLineAsync();
        await output.WriteLineAsync("the manager's devices (GET /api/devices):");
        foreach (var device in peers.Devices)
        {
            var id = device["device_id"]?.ToString() ?? "";
            var key = nodes.FirstOrDefault(n => n.DeviceId == id)?.Key ?? "-";
            var online = device["online"]?.GetValue<bool>() == true ? "online" : "offline";
            var revoked = device["revoked"]?.GetValue<bool>() == true ? " revoked" : "";
            await output.WriteLineAsync($"  {key,-9} {id,-20} {device["role"],-8} {device["kind"],-5} {online}{revoked}   {device["name"]}");
        }
        foreach (var sensor in peers.Offline)
            await output.WriteLineAsync($"  note: {sensor.Key} is not online after {OnlinePatience.TotalSeconds:0} s");

        var manager = nodes[0];
        await output.WriteLineAsync();
        await output.WriteLineAsync("try it (-k: the certificates are self-signed; compare cert_sha256 above):");
        await output.WriteLineAsync($"  curl -sk {manager.Url}/api/devices/info");
        await output.WriteLineAsync($"  TOKEN=$(curl -sk -X POST {manager.Url}/api/auth/login -H 'content-type: application/json' "
                                    + $"-d '{new JsonObject { ["username"] = Username, ["password"] = password }.ToJsonString()}' | jq -r .access_token)");
        await output.WriteLineAsync($"  curl -sk {manager.Url}/api/devices -H \"authorization: Bearer $TOKEN\"");
        await output.WriteLineAsync();

        Task Field(string label, string value) => output.WriteLineAsync($"  {label,-12} {value}");
    }

    /// <summary>Until a signal, or until a node stops by itself (its own host saw the signal first, or it failed).</summary>
    private static async Task WaitForStopAsync(IReadOnlyList<DemoNode> nodes, CancellationToken stop)
    {
        var stopping = nodes.Select(n => n.Node.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping).Append(stop);
        using var any = CancellationTokenSource.CreateLinkedTokenSource(stopping.ToArray());
        await Task.Delay(Timeout.Infinite, any.Token).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Sensors first, then the manager: each node's actor system shuts down and its journal is flushed.</summary>
    private static async Task StopAsync(List<DemoNode> nodes)
    {
        for (var i = nodes.Count - 1; i >= 0; i--)
            await nodes[i].DisposeAsync();
        nodes.Clear();
    }
}
