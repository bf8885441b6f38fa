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
public sealed class PeerCertificatePins(TimeProvider? clock = null)
{
    /// <summary>At most one warning per interval about refused handshakes, so a flood of them cannot flood the log.</summary>
    public static readonly TimeSpan RefusalLogInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _refusals = new();
    private ImmutableHashSet<string> _pins = ImmutableHashSet<string>.Empty;
    private long _refusedSinceLastLog;
    private long _lastLogTicks = long.MinValue;

    /// <summary>Handshakes refused since the node started.</summary>
    public long Refused { get; private set; }

    public bool IsPinned(string certSha256) => Volatile.Read(ref _pins).Contains(certSha256);

    public void Pin(string certSha256) => ImmutableInterlocked.Update(ref _pins, set => set.Add(certSha256));

    public void Unpin(string certSha256) => ImmutableInterlocked.Update(ref _pins, set => set.Remove(certSha256));

    /// <summary>The TLS validator: chain and host name do not matter, only the pinned fingerprint does.</summary>
    public bool Validate(X509Certificate2? certificate, X509Chain? chain, string remotePeer, SslPolicyErrors errors, ILoggingAdapter log)
    {
        var fingerprint = certificate is null ? null : NodeIdentity.Fingerprint(certificate);
        if (fingerprint is not null && IsPinned(fingerprint))
            return true;
        if (ShouldLogRefusal(out var suppressed))
            log.Warning("Remoting connection from {0} refused: {1} ({2} more refused since the last warning)",
                remotePeer, fingerprint is null ? "no certificate" : $"certificate {fingerprint} is not a paired device", suppressed);
        return false;
    }

    /// <summary>Counts a refusal; true when enough time has passed since the last warning to write another.</summary>
    public bool ShouldLogRefusal(out long suppressed)
    {
        lock (_refusals)
        {
            Refused++;
            var now = _clock.GetUtcNow().UtcTicks;
            if (_lastLogTicks != long.MinValue && now - _lastLogTicks < RefusalLogInterval.Ticks)
            {
                _refusedSinceLastLog++;
                suppressed = 0;
                return false;
            }
            suppressed = _refusedSinceLastLog;
            _refusedSinceLastLog = 0;
            _lastLogTicks = now;
            return true;
        }
    }
}
