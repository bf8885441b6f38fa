using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Remote;
using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Remoting;
using static Abpa3.Actors.Pairing.PairingQueries;

namespace Abpa3.Actors.Peers;

/// <summary>What the device supervisor forwards to its peer directory.</summary>
public interface IPeerLinkRequest;

/// <summary>Messages the <see cref="PeerDirectory"/> answers.</summary>
public static class PeerDirectoryProtocol
{
    /// <summary>Online state of every linked peer. Answered with <see cref="Presence"/>.</summary>
    public sealed class GetPresence : IPeerLinkRequest
    {
        public static readonly GetPresence Instance = new();
        private GetPresence() { }
    }

    public sealed record Presence(IReadOnlyDictionary<string, PeerProxyProtocol.PresenceChanged> Peers);

    /// <summary>This node's device id and the link address peers reach it at.</summary>
    public sealed record LocalLink(string DeviceId, string RemoteAddress);

    /// <summary>Answered with <see cref="LocalLink"/>.</summary>
    public sealed class GetLocalLink : IPeerLinkRequest
    {
        public static readonly GetLocalLink Instance = new();
        private GetLocalLink() { }
    }
}

/// <summary>
/// Keeps one <see cref="PeerProxy"/> per paired (or pending) device, in step with the pairing
/// coordinator: started at boot and when a pairing lands, replaced when the keys change, stopped when a
/// peer is revoked. It also keeps the remoting TLS pins in step, and on revocation quarantines the
/// peer's address so an open connection is cut at once.
/// </summary>
public sealed class PeerDirectory : ReceiveActor
{
    public const string Name = "peers";

    private readonly PeerDirectoryProtocol.LocalLink _local;
    private readonly PeerLinkSettings _settings;
    private readonly PeerLinkCounters _counters;
    private readonly PeerCertificatePins _pins;
    private readonly TimeProvider _clock;
    private readonly IActorRef _pairing;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, (PeerDevice Peer, IActorRef Proxy)> _links = new();
    private readonly Dictionary<string, PeerProxyProtocol.PresenceChanged> _presence = new();
    private long _generation;
    private long _lastIncarnation;
    private IActorRef _inbox = ActorRefs.Nobody;

    public PeerDirectory(PeerDirectoryProtocol.LocalLink local, PeerLinkSettings settings, PeerLinkCounters counters,
        PeerCertificatePins pins, TimeProvider clock, IActorRef pairing)
    {
        _local = local;
        _settings = settings;
        _counters = counters;
        _pins = pins;
        _clock = clock;
        _pairing = pairing;

        Receive<PeerList>(list =>
        {
            foreach (var peer in list.Peers)
                Reconcile(peer, peer.Revoked ? "revoked" : "paired");
            // The journal is the truth: pins kept from before the restart that it no longer backs go now.
            UpdatePins(() => _pins.Reset(_links.Values.Select(l => l.Peer.CertSha256)));
        });
        Receive<PeerRegistryChanged>(changed => Reconcile(changed.Peer, changed.Change));
        Receive<PeerProxyProtocol.Send>(send => ForwardTo(send.DeviceId, send));
        Receive<PeerProxyProtocol.Ping>(ping => ForwardTo(ping.DeviceId, ping));
        Receive<PeerProxyProtocol.CheckRequest>(check =>
        {
            if (!_links.TryGetValue(check.DeviceId, out var link))
                Sender.Tell(new PeerProxyProtocol.RequestChecked(RequestVerdict.BadSignature, null));
            else
                link.Proxy.Forward(check);
        });
        Receive<Terminated>(_ => { });
        Receive<PeerProxyProtocol.PresenceChanged>(presence => _presence[presence.DeviceId] = presence);
        Receive<PeerDirectoryProtocol.GetPresence>(_ => Sender.Tell(new PeerDirectoryProtocol.Presence(
            _links.Keys.ToDictionary(id => id, id => _presence.GetValueOrDefault(id) ?? new PeerProxyProtocol.PresenceChanged(id, false, null)))));
        Receive<PeerDirectoryProtocol.GetLocalLink>(_ => Sender.Tell(_local));
    }

    /// <summary>The inbox and the proxies shrug off a <c>Kill</c>: nothing from the wire may stop them (THREATS T7).</summary>
    protected override SupervisorStrategy SupervisorStrategy() => KillProof.Strategy;

    protected override void PreStart()
    {
        _inbox = Context.ActorOf(PeerInbox.Props(Self, _counters), PeerInbox.Name);
        Context.System.EventStream.Subscribe(Self, typeof(PeerRegistryChanged));
        _pairing.Tell(ListPeers.Instance);
    }

    private void ForwardTo(string deviceId, object message)
    {
        if (_links.TryGetValue(deviceId, out var link))
            link.Proxy.Forward(message);
    }

    private void Reconcile(PeerDevice peer, string change)
    {
        _links.TryGetValue(peer.DeviceId, out var current);
        if (change is "revoked" or "abandoned")
        {
            if (current.Proxy is not null)
            {
                Context.Stop(current.Proxy);
                _links.Remove(peer.DeviceId);
                PublishRoutes();
            }
            // The certificate stays pinned only if another live pairing still uses it.
            if (!_links.Values.Any(l => l.Peer.CertSha256 == peer.CertSha256))
                UpdatePins(() => _pins.Unpin(peer.CertSha256));
            if (change == "revoked")
                CutConnection(peer);
            return;
        }
        if (current.Proxy is not null && current.Peer with { LastSeen = null } == peer with { LastSeen = null })
            return;
        if (current.Proxy is not null && SameLink(current.Peer, peer))
        {
            // Same keys and certificate (a pending pairing completed, the peer moved or was renamed): the
            // proxy carries on, so its sequence numbers and the peer's presence continue undisturbed.
            _links[peer.DeviceId] = (peer, current.Proxy);
            PublishRoutes();
            current.Proxy.Tell(new PeerProxyProtocol.Updated(peer));
            return;
        }
        if (current.Proxy is not null)
            Context.Stop(current.Proxy);
        UpdatePins(() => _pins.Pin(peer.CertSha256));
        var proxy = Context.ActorOf(
            PeerProxy.Props(peer, _local, NextIncarnation(), _settings, _counters, _clock, _pairing),
            $"{Uri.EscapeDataString(peer.DeviceId)}-{++_generation}");
        _links[peer.DeviceId] = (peer, proxy);
        PublishRoutes();
        _log.Info("Link to {0} ({1}) started at {2}", peer.DeviceId, peer.Role, peer.RemoteAddress);
    }

    /// <summary>
    /// The change is in force once made; only its copy on disk may fail (a full or read-only disk). That costs
    /// at most a refused handshake at the next start, so it is logged, and the directory carries on.
    /// </summary>
    private void UpdatePins(Action change)
    {
        try
        {
            change();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.Warning("Could not save the remoting pins to the data directory: {0}", e.Message);
        }
    }

    /// <summary>The inbox routes envelopes straight to the proxies, one hop instead of two.</summary>
    private void PublishRoutes() =>
        _inbox.Tell(new PeerInbox.Routes(_links.ToImmutableDictionary(l => l.Key, l => l.Value.Proxy)), Self);

    private static bool SameLink(PeerDevice a, PeerDevice b) =>
        a.OutgoingKey == b.OutgoingKey && a.IncomingKey == b.IncomingKey && a.CertSha256 == b.CertSha256 && !a.Revoked && !b.Revoked;

    /// <summary>
    /// Each proxy signs under its own incarnation, later than any before it (boot time, then strictly
    /// increasing), so a proxy restarted within a boot never reuses sequence numbers the peer has seen.
    /// </summary>
    private long NextIncarnation()
    {
        _lastIncarnation = Math.Max(_lastIncarnation + 1, _clock.GetUtcNow().ToUnixTimeMilliseconds() * 1000);
        return _lastIncarnation;
    }

    /// <summary>Quarantining the address drops any open association now; the removed pin keeps it from coming back.</summary>
    private void CutConnection(PeerDevice peer)
    {
        try
        {
            var provider = (IRemoteActorRefProvider)((ExtendedActorSystem)Context.System).Provider;
            provider.Quarantine(Address.Parse(peer.RemoteAddress), null);
        }
        catch (Exception e)
        {
            // The pin is gone already, so no new connection gets through; a failure here must not restart the directory.
            _log.Warning("Could not cut the connection to revoked peer {0}: {1}", peer.DeviceId, e.Message);
        }
    }

    public static Props Props(PeerDirectoryProtocol.LocalLink local, PeerLinkSettings settings, PeerLinkCounters counters,
        PeerCertificatePins pins, TimeProvider clock, IActorRef pairing) =>
        Akka.Actor.Props.Create(() => new PeerDirectory(local, settings, counters, pins, clock, pairing));
}
