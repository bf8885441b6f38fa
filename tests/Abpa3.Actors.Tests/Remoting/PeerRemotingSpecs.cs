using Akka.Actor;
using Abpa3.Actors.Tests.Support;

namespace Abpa3.Actors.Tests.Remoting;

/// <summary>
/// Two real nodes over real Akka.Remote with TLS on loopback (THREATS T5, T7): only pinned certificates
/// connect, and only trusted paths are reachable from the wire.
/// </summary>
public sealed class PeerRemotingSpecs : IAsyncLifetime
{
    /// <summary>What a test sends and expects back; a string travels with Akka's own primitive serializer.</summary>
    private sealed class Echo : ReceiveActor
    {
        public Echo() => Receive<string>(text => Sender.Tell("echo:" + text));
    }

    // Only /user/echo is reachable from the wire in these tests; /user/secret is not.
    private const string TrustEcho = """akka.remote.trusted-selection-paths = ["/user/echo"]""";
    private static readonly TimeSpan Refused = TimeSpan.FromSeconds(3);
    private readonly TempDataDir _managerDir = new();
    private readonly TempDataDir _sensorDir = new();
    private ActorNode _manager = null!;
    private ActorNode _sensor = null!;

    public async Task InitializeAsync()
    {
        _manager = await ActorNode.StartAsync(_managerDir.Path, extraHocon: TrustEcho);
        _sensor = await ActorNode.StartAsync(_sensorDir.Path, extraHocon: TrustEcho);
        _sensor.System.ActorOf(Akka.Actor.Props.Create(() => new Echo()), "echo");
        _sensor.System.ActorOf(Akka.Actor.Props.Create(() => new Echo()), "secret");
    }

    public async Task DisposeAsync()
    {
        await _manager.DisposeAsync();
        await _sensor.DisposeAsync();
        _managerDir.Dispose();
        _sensorDir.Dispose();
    }

    private Task<string> AskSensorAsync(string path, string text, TimeSpan timeout) =>
        _manager.System.ActorSelection($"{NodeActors.RemoteAddress(_sensor.System)}{path}").Ask<string>(text, timeout);

    private void PinEachOther()
    {
        _manager.Pins.Pin(_sensor.Identity.CertSha256);
        _sensor.Pins.Pin(_manager.Identity.CertSha256);
    }

    [Fact]
    public async Task Devices_that_pinned_each_other_talk_over_tls()
    {
        PinEachOther();

        Assert.Equal("echo:hello", await AskSensorAsync("/user/echo", "hello", TimeSpan.FromSeconds(10)));
        Assert.StartsWith("akka.ssl.tcp://", NodeActors.RemoteAddress(_sensor.System));
    }

    [Fact]
    public async Task A_node_whose_certificate_is_not_pinned_cannot_connect()
    {
        _manager.Pins.Pin(_sensor.Identity.CertSha256); // the manager trusts the sensor, but the sensor never paired it

        await Assert.ThrowsAsync<AskTimeoutException>(() => AskSensorAsync("/user/echo", "hello", Refused));
    }

    [Fact]
    public async Task Unpinning_cuts_new_connections_at_once()
    {
        _sensor.Pins.Pin(_manager.Identity.CertSha256);
        _sensor.Pins.Unpin(_manager.Identity.CertSha256);
        _manager.Pins.Pin(_sensor.Identity.CertSha256);

        await Assert.ThrowsAsync<AskTimeoutException>(() => AskSensorAsync("/user/echo", "hello", Refused));
    }

    [Fact]
    public async Task Paths_not_trusted_and_remote_poison_pills_have_no_effect()
    {
        PinEachOther();
        Assert.Equal("echo:up", await AskSensorAsync("/user/echo", "up", TimeSpan.FromSeconds(10)));

        await Assert.ThrowsAsync<AskTimeoutException>(() => AskSensorAsync("/user/secret", "hello", Refused));
        var echo = _manager.System.ActorSelection($"{NodeActors.RemoteAddress(_sensor.System)}/user/echo");
        echo.Tell(PoisonPill.Instance);
        await Task.Delay(500);

        Assert.Equal("echo:still here", await AskSensorAsync("/user/echo", "still here", TimeSpan.FromSeconds(10)));
    }
}
