using System.Collections;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Pairing;

namespace Abpa3.Actors.Tests.Configuration;

/// <summary>The shipped <c>hocon/</c> files load and say what the README says they say.</summary>
public class MeshConfigSpecs
{
    [Fact]
    public void The_shipped_files_hold_the_documented_defaults()
    {
        var config = MeshConfig.LoadFiles(MeshConfig.DefaultDirectory);
        var node = NodeSettings.FromConfig(config);

        Assert.Equal(Path.GetFullPath("./data"), node.DataDir);
        Assert.Equal(("0.0.0.0", 8000, 8001, 0, false), (node.Bind, node.HttpPort, node.RemotePort, node.RemotePublicPort, node.PlainHttp));
        Assert.Null(node.Name);
        Assert.Null(node.DeviceId);
        Assert.Equal(TimeSpan.FromSeconds(5), node.AskTimeout);
        Assert.Equal(100, PairingSettings.FromConfig(config).SnapshotEvery);
        Assert.Equal(TimeSpan.FromSeconds(5), Abpa3.Actors.Scans.ScanSettings.FromConfig(config).RecoveryGrace);
        Assert.True(config.GetBoolean("akka.remote.untrusted-mode"));
        // Only the peer inbox is reachable from the wire.
        Assert.Equal([Abpa3.Actors.Peers.PeerInbox.Path], config.GetStringList("akka.remote.trusted-selection-paths"));
        var peers = Abpa3.Actors.Peers.PeerLinkSettings.FromConfig(config);
        Assert.Equal((TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(800), TimeSpan.FromMinutes(5)),
            (peers.HeartbeatInterval, peers.LivenessTimeout, peers.FreshnessWindow));
        Assert.Equal(5, DevicePairingSettings.FromConfig(config).MaxWrongCodes);
        Assert.False(DevicePairingSettings.FromConfig(config).ExitAfterAccept);
        Assert.Equal("remote", config.GetString("akka.actor.provider"));
        // A refused outbound TLS handshake makes Akka.Remote run coordinated shutdown; it must not end the node.
        Assert.False(config.GetBoolean("akka.coordinated-shutdown.terminate-actor-system"));
        Assert.False(config.GetBoolean("akka.coordinated-shutdown.run-by-actor-system-terminate"));
    }

    [Fact]
    public void Environment_variables_map_to_hocon_paths()
    {
        var environment = new Hashtable
        {
            ["ABPA3__NODE__HTTP_PORT"] = "9100",
            ["abpa3__node__name"] = "Lab sensor",
            ["ABPA3__AUTH__TOKEN_LIFETIME"] = "15m",
            ["PATH"] = "/usr/bin",
        };

        var overrides = MeshConfig.FromEnvironment(environment);

        Assert.Equal(3, overrides.Count);
        Assert.Equal("9100", overrides["abpa3.node.http-port"]);
        Assert.Equal("Lab sensor", overrides["abpa3.node.name"]);
        Assert.Equal("15m", overrides["abpa3.auth.token-lifetime"]);
    }

    [Fact]
    public void Malformed_environment_names_are_ignored_and_cannot_displace_other_settings()
    {
        var environment = new Hashtable
        {
            ["ABPA3__"] = "x",
            ["ABPA3__NODE____HTTP_PORT"] = "1",
            ["ABPA3__NODE__DATA.DIR"] = "/elsewhere",
            ["ABPA3__NODE__BIND\\"] = "0.0.0.0",
            ["ABPA3__NODE__DATA_DIR"] = "/right/place",
        };

        var overrides = MeshConfig.FromEnvironment(environment);
        var node = NodeSettings.FromConfig(MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(overrides));

        Assert.Equal(["abpa3.node.data-dir"], overrides.Keys);
        Assert.Equal("/right/place", node.DataDir);
        Assert.Throws<Akka.Configuration.ConfigurationException>(() =>
            MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(new Dictionary<string, string> { ["abpa3.x = 1\nabpa3"] = "y" }));
    }

    [Fact]
    public void Overrides_win_over_the_files_and_keep_odd_characters_intact()
    {
        var config = MeshConfig.LoadFiles(MeshConfig.DefaultDirectory).WithOverrides(new Dictionary<string, string>
        {
            ["abpa3.node.http-port"] = "0",
            ["abpa3.node.name"] = "Kitchen \"north\" \\ wall",
            ["abpa3.node.plain-http"] = "on",
        });
        var node = NodeSettings.FromConfig(config);

        Assert.Equal((0, "Kitchen \"north\" \\ wall", true), (node.HttpPort, node.Name, node.PlainHttp));
        Assert.Equal(8001, node.RemotePort);
    }

    [Fact]
    public void An_out_of_range_port_is_a_configuration_error()
    {
        var config = MeshConfig.LoadFiles(MeshConfig.DefaultDirectory)
            .WithOverrides(new Dictionary<string, string> { ["abpa3.node.http-port"] = "70000" });
        Assert.Throws<Akka.Configuration.ConfigurationException>(() => NodeSettings.FromConfig(config));
    }
}
