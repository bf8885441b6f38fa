using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Actor;
using Abpa3.Actors.Peers;
using Abpa3.Web.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Abpa3.Web.Tests.Peers;

/// <summary>
/// Akka.Remote runs coordinated shutdown when a TLS handshake fails on a connection this node opened. Between
/// devices that happens in normal operation (a peer that is stopping closes the connection mid-handshake; a
/// peer that revoked us refuses our certificate) and can be provoked by anyone on the LAN who answers at a
/// peer's address with a certificate we do not pin. None of it may stop the node (THREATS T7).
/// </summary>
public sealed class OutboundTlsFailureSpecs
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_failed_outbound_tls_handshake_leaves_the_node_running(bool presentUnpinnedCertificate)
    {
        await using var node = await TestNode.StartAsync();
        var system = node.Node.Services.GetRequiredService<ActorSystem>();

        await FailOneOutboundHandshakeAsync(system, presentUnpinnedCertificate);

        Assert.NotSame(system.WhenTerminated, await Task.WhenAny(system.WhenTerminated, Task.Delay(TimeSpan.FromSeconds(2))));
        Assert.Equal(HttpStatusCode.OK, (await node.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task After_a_failed_outbound_tls_handshake_the_node_still_pairs_and_its_link_carries_traffic()
    {
        await using var manager = await TestNode.StartAsync();
        await using var sensor = await TestNode.StartAsync();
        await FailOneOutboundHandshakeAsync(manager.Node.Services.GetRequiredService<ActorSystem>(), presentUnpinnedCertificate: true);
        await Task.Delay(TimeSpan.FromSeconds(1)); // what coordinated shutdown would do, it has done by now
        await manager.SetupOwnerAsync();
        var token = await manager.LoginAsync();

        var paired = await manager.PostJsonAsync("/api/devices/pair/initiate",
            new { target_ip = $"127.0.0.1:{sensor.Node.HttpUrl.Port}", setup_code = sensor.SetupCode }, token);

        Assert.Equal(HttpStatusCode.OK, paired.StatusCode);
        await PeerPairingSpecs.AssertEventuallyOnlineAsync(manager, token, sensor.Node.Identity.DeviceId.Value, "sensor");
        Assert.True(await PeerPairingSpecs.PingAsync(manager, sensor.Node.Identity.DeviceId.Value) > TimeSpan.Zero);
    }

    /// <summary>Makes the node open a remoting connection to a listener here that fails the TLS handshake, and waits until it has.</summary>
    private static async Task FailOneOutboundHandshakeAsync(ActorSystem system, bool presentUnpinnedCertificate)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var certificate = SelfSigned();
        var serving = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            if (presentUnpinnedCertificate)
            {
                // A TLS server, but not the paired device: the node's pinning refuses this certificate.
                await using var tls = new SslStream(client.GetStream());
                try
                {
                    await tls.AuthenticateAsServerAsync(certificate);
                }
                catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException) { }
            }
            // Otherwise the other end closes the connection before any handshake, like a device that is stopping.
        });

        system.ActorSelection($"akka.ssl.tcp://abpa3@127.0.0.1:{port}{PeerInbox.Path}").Tell(new PeerWire([1, 2, 3]));

        await serving.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=not the paired device", key, HashAlgorithmName.SHA256);
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // SslStream on Linux wants a certificate whose key it can use: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null);
    }
}
