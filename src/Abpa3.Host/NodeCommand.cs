using System.CommandLine;
using Akka.Configuration;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;
using Abpa3.Web;

namespace Abpa3.Host;

/// <summary>
/// The node's command line (SPEC §8). Options override environment variables (<c>ABPA3__…</c>),
/// which override <c>hocon/*.hocon</c>.
/// </summary>
public static class NodeCommand
{
    /// <summary>Signals are left to the node's own host lifetime, which shuts the actor system down cleanly.</summary>
    public static readonly InvocationConfiguration Invocation = new() { ProcessTerminationTimeout = null };

    private static readonly Option<string> DataDir = new("--data-dir") { Description = "Data directory (identity, certificate, journal). Default ./data" };
    private static readonly Option<string> Name = new("--name") { Description = "Display name of this device" };
    private static readonly Option<string> DeviceId = new("--device-id") { Description = "Device id to use on first boot (default: generated)" };
    private static readonly Option<string> Bind = new("--bind") { Description = "Address to listen on (default 0.0.0.0, all interfaces)" };
    private static readonly Option<int?> HttpPort = new("--http-port") { Description = "HTTPS port of the edge (default 8000; 0 = a free port)" };
    private static readonly Option<int?> RemotePort = new("--remote-port") { Description = "Akka.Remote port for paired devices (default 8001; 0 = a free port)" };
    private static readonly Option<bool> PlainHttp = new("--plain-http") { Description = "Serve plain HTTP instead of HTTPS (development only)" };

    public static RootCommand Create()
    {
        var root = new RootCommand("ABPA3 Mesh node: one device of a local-first, LAN-only mesh.")
        {
            DataDir, Name, DeviceId, Bind, HttpPort, RemotePort, PlainHttp,
        };
        root.SetAction((result, cancellationToken) => RunAsync(result, cancellationToken));
        root.Subcommands.Add(Demo.DemoCommand.Create());
        return root;
    }

    /// <summary>hocon/ files, then ABPA3__ environment variables, then the options given.</summary>
    public static Config LoadConfig(ParseResult result)
    {
        var overrides = new Dictionary<string, string>(MeshConfig.FromEnvironment(Environment.GetEnvironmentVariables()));
        void Set(string key, string? value)
        {
            if (value is not null)
                overrides[$"abpa3.node.{key}"] = value;
        }
        Set("data-dir", result.GetValue(DataDir));
        Set("name", result.GetValue(Name));
        Set("device-id", result.GetValue(DeviceId));
        Set("bind", result.GetValue(Bind));
        Set("http-port", result.GetValue(HttpPort)?.ToString());
        Set("remote-port", result.GetValue(RemotePort)?.ToString());
        if (result.GetValue(PlainHttp))
            Set("plain-http", "on");
        return MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(overrides);
    }

    private static async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
    {
        MeshNode? node = null;
        try
        {
            node = MeshNode.Create(LoadConfig(result));
            await node.StartAsync(cancellationToken);
        }
        catch (Exception e)
        {
            // Whatever stops the start (configuration, data directory, busy port), the owner gets one
            // line saying what, not a stack trace.
            await Console.Error.WriteLineAsync($"ABPA3 node failed to start: {e.Message}");
            if (node is not null)
                await node.DisposeAsync();
            return 1;
        }

        await using (node)
        {
            if (node.LifecycleAtStart.State == DeviceState.Unconfigured)
                Console.WriteLine(
                    $"ABPA3 setup code: {node.Identity.SetupCode.Reveal()} " +
                    $"(claim this device with it; also in {Path.Combine(node.Settings.DataDir, NodeIdentityStore.SetupCodeFile)})");
            Console.WriteLine($"ABPA3 node ready: device_id={node.Identity.DeviceId} http={node.HttpUrl.ToString().TrimEnd('/')} remote={node.RemoteAddress}");
            await node.WaitForShutdownAsync(CancellationToken.None);
        } // disposing stops the node and flushes the journal
        Console.WriteLine("ABPA3 node stopped");
        return 0;
    }
}
