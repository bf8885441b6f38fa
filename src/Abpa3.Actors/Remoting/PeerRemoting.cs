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
    public static AkkaConfigurationBuilder WithPeerRemoting(
        this AkkaConfigurationBuilder builder, NodeIdentity identity, PeerCertificatePins pins, string bind, int port)
    {
        var publicHost = bind is "0.0.0.0" or "::" ? System.Net.Dns.GetHostName() : bind;
        return builder
            .AddHocon($$"""
                akka.remote.dot-netty.tcp {
                  hostname = "{{bind}}"
                  public-hostname = "{{publicHost}}"
                  port = {{port}}
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
}
