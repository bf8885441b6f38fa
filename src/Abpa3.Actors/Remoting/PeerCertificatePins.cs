using System.Collections.Immutable;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
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
/// which devices are paired. So that a paired device knocking in that window is not refused (its remoting
/// would then hold the address for its whole connection timeout), the set is kept in a file in the data
/// directory as well and read before the actor system starts (<see cref="InDataDirectory"/>). The journal
/// stays the source of truth: once the peer directory has loaded the paired devices it makes the set
/// exactly theirs (<see cref="Reset"/>), so a pin left behind by a crash between a revocation and its
/// write here lasts only until then, and the inbox has no route for a revoked device meanwhile.
/// </remarks>
public sealed class PeerCertificatePins(TimeProvider? clock = null, string? file = null)
{
    /// <summary>The file, in the data directory, that keeps the pins across restarts.</summary>
    public const string FileName = "peer-pins";

    private const int FingerprintLength = 64;

    /// <summary>At most one warning per interval about refused handshakes, so a flood of them cannot flood the log.</summary>
    public static readonly TimeSpan RefusalLogInterval = TimeSpan.FromSeconds(10);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _refusals = new();
    private readonly Lock _writes = new();
    private ImmutableHashSet<string> _pins = ImmutableHashSet<string>.Empty;
    private long _refusedSinceLastLog;
    private long _lastLogTicks = long.MinValue;

    /// <summary>Handshakes refused since the node started.</summary>
    public long Refused { get; private set; }

    /// <summary>The pins kept in <paramref name="dataDirectory"/>, loaded now; every change is written back.</summary>
    public static PeerCertificatePins InDataDirectory(string dataDirectory, TimeProvider? clock = null)
    {
        var path = Path.Combine(dataDirectory, FileName);
        var pins = new PeerCertificatePins(clock, path);
        if (File.Exists(path))
            pins._pins = File.ReadAllLines(path).Select(l => l.Trim()).Where(IsFingerprint).ToImmutableHashSet();
        return pins;
    }

    public bool IsPinned(string certSha256) => Volatile.Read(ref _pins).Contains(certSha256);

    /// <summary>The pinned fingerprints now.</summary>
    public IReadOnlySet<string> Pinned => Volatile.Read(ref _pins);

    public void Pin(string certSha256) => Change(set => set.Add(certSha256));

    public void Unpin(string certSha256) => Change(set => set.Remove(certSha256));

    /// <summary>Exactly these pins from now on (the paired devices, once the journal has been read).</summary>
    public void Reset(IEnumerable<string> certSha256s) => Change(_ => certSha256s.ToImmutableHashSet());

    private void Change(Func<ImmutableHashSet<string>, ImmutableHashSet<string>> change)
    {
        lock (_writes)
        {
            var before = _pins;
            var after = change(before);
            if (before.SetEquals(after))
                return;
            Volatile.Write(ref _pins, after);
            if (file is not null)
                DataDirectory.WriteOwnerOnly(file, Encoding.ASCII.GetBytes(string.Concat(after.Order().Select(p => p + "\n"))));
        }
    }

    private static bool IsFingerprint(string line) =>
        line.Length == FingerprintLength && line.All(char.IsAsciiHexDigitLower);

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
