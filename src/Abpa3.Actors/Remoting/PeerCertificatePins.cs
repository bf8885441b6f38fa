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
/// <remarks>
/// Remoting listens as soon as the actor system starts, before the journal has told the peer directory
/// which devices are paired. A handshake in that window from a certificate not (yet) pinned waits for the
/// paired devices to be loaded (<see cref="MarkLoaded"/>), at most until <paramref name="startupWait"/> after
/// this set was made: refusing it would refuse a paired manager that knocks while its restarted sensor
/// boots, and the manager's remoting then holds the address for its whole handshake timeout (15 s) before
/// it takes the sensor's own connection. Once loaded, or after the wait, an unknown certificate is refused at once.
/// </remarks>
public sealed class PeerCertificatePins(TimeProvider? clock = null, TimeSpan? startupWait = null)
{
    /// <summary>How long after start a handshake may wait for the paired devices to be loaded.</summary>
    public static readonly TimeSpan DefaultStartupWait = TimeSpan.FromSeconds(5);

    /// <summary>At most one warning per interval about refused handshakes, so a flood of them cannot flood the log.</summary>
    public static readonly TimeSpan RefusalLogInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _refusals = new();
    private ImmutableHashSet<string> _pins = ImmutableHashSet<string>.Empty;
    private long _refusedSinceLastLog;
    private long _lastLogTicks = long.MinValue;
    private readonly ManualResetEventSlim _loaded = new();
    private readonly long _waitUntil = Environment.TickCount64 + (long)(startupWait ?? DefaultStartupWait).TotalMilliseconds;

    /// <summary>Handshakes refused since the node started.</summary>
    public long Refused { get; private set; }

    public bool IsPinned(string certSha256) => Volatile.Read(ref _pins).Contains(certSha256);

    public void Pin(string certSha256) => ImmutableInterlocked.Update(ref _pins, set => set.Add(certSha256));

    public void Unpin(string certSha256) => ImmutableInterlocked.Update(ref _pins, set => set.Remove(certSha256));

    /// <summary>Whether the paired devices known at start have been pinned.</summary>
    public bool IsLoaded => _loaded.IsSet;

    /// <summary>The peer directory has pinned every paired device the journal holds: unknown certificates are refused without waiting.</summary>
    public void MarkLoaded() => _loaded.Set();

    /// <summary>Pinned now, or (while the paired devices are still being loaded at start) once they are.</summary>
    private bool IsPinnedOnceLoaded(string fingerprint)
    {
        if (IsPinned(fingerprint))
            return true;
        if (_loaded.IsSet)
            return false;
        var left = _waitUntil - Environment.TickCount64;
        return left > 0 && _loaded.Wait(TimeSpan.FromMilliseconds(left)) && IsPinned(fingerprint);
    }

    /// <summary>The TLS validator: chain and host name do not matter, only the pinned fingerprint does.</summary>
    public bool Validate(X509Certificate2? certificate, X509Chain? chain, string remotePeer, SslPolicyErrors errors, ILoggingAdapter log)
    {
        var fingerprint = certificate is null ? null : NodeIdentity.Fingerprint(certificate);
        if (fingerprint is not null && IsPinnedOnceLoaded(fingerprint))
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
