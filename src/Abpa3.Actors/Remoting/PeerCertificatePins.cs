using System.Collections.Immutable;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Abpa3.Actors.Identity;

namespace Abpa3.Actors.Remoting;

/// <summary>
/// The certificate fingerprints of paired, unrevoked peers. The remoting TLS handshake asks this set
/// on every connection, so pairing and revocation take effect at once. Empty until a peer is paired:
/// a fresh node accepts no remoting connection at all.
/// </summary>
public sealed class PeerCertificatePins
{
    private ImmutableHashSet<string> _pins = ImmutableHashSet<string>.Empty;

    public bool IsPinned(string certSha256) => Volatile.Read(ref _pins).Contains(certSha256);

    public void Pin(string certSha256) => ImmutableInterlocked.Update(ref _pins, set => set.Add(certSha256));

    public void Unpin(string certSha256) => ImmutableInterlocked.Update(ref _pins, set => set.Remove(certSha256));

    /// <summary>The TLS validator: chain and host name do not matter, only the pinned fingerprint does.</summary>
    public bool Validate(X509Certificate2? certificate, X509Chain? chain, string remotePeer, SslPolicyErrors errors, ILoggingAdapter log)
    {
        if (certificate is null)
        {
            log.Warning("Remoting connection from {0} refused: no certificate", remotePeer);
            return false;
        }
        var fingerprint = NodeIdentity.Fingerprint(certificate);
        if (IsPinned(fingerprint))
            return true;
        log.Warning("Remoting connection from {0} refused: certificate {1} is not a paired device", remotePeer, fingerprint);
        return false;
    }
}
