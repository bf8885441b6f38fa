using Akka.Hosting;
using Akka.Remote.Transport.DotNetty;
using Abpa3.Actors.Identity;

namespace Abpa3.Actors.Remoting;

/// <summary>
/// Akka.Remote between paired devices: TLS with the node's own certificate, mutual authentication,
/// and only pinned peer certificates accepted. Timing and trust settings live in <c>hocon/akka.hocon</c>.
/// </summary>
public static class PeerRemoting
{
    /// <param name="publicPort">
    /// The port peers dial when it differs from the one listened on (a port forward or NAT in between); 0: the same.
    /// Akka.Remote accepts only messages addressed to its own address, so a node behind a forward must advertise it.
    /// </param>
    public static AkkaConfigurationBuilder WithPeerRemoting(
        this AkkaConfigurationBuilder builder, NodeIdentity identity, PeerCertificatePins pins, string bind, int port, int publicPort = 0)
    {
        var publicHost = bind is "0.0.0.0" or "::" ? LanAddress() : bind;
        return builder
            .AddHocon($$"""
                akka.remote.dot-netty.tcp {
                  hostname = "{{bind}}"
                  public-hostname = "{{publicHost}}"
                  port = {{port}}
                  public-port = {{publicPort}}
                  enable-ssl = true
                }
                """, HoconAddMode.Prepend)
            .AddSetup(new DotNettySslSetup(
                identity.Certificate,
                suppressValidation: false,
                requireMutualAuthentication: true,
                validateCertificateHostname: false,
                customValidator: (certificate, chain, peer, errors, log) => pins.Validate(certificate, chain, peer, errors, log)));
    }

    /// <summary>
    /// The address peers should dial when the node listens everywhere: its first LAN IPv4 address (peers
    /// address the link by exactly this name, and a host name may not resolve on the LAN), else the host name.
    /// </summary>
    private static string LanAddress() =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == System.Net.NetworkInformation.OperationalStatus.Up
                        && n.NetworkInterfaceType != System.Net.NetworkInformation.NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork && !System.Net.IPAddress.IsLoopback(a))
            ?.ToString()
        ?? System.Net.Dns.GetHostName();
}
