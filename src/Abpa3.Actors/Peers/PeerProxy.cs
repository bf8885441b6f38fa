using Akka.Actor;
using Akka.Event;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Remoting;

namespace Abpa3.Actors.Peers;

/// <summary>Messages a <see cref="PeerProxy"/> answers, usually through the <see cref="PeerDirectory"/>.</summary>
public static class PeerProxyProtocol
{
    /// <summary>A decoded envelope from the wire that names this proxy's peer as its sender.</summary>
    public sealed record Inbound(SignedEnvelope Envelope);

    /// <summary>Sign and send a payload to the peer (fire and forget).</summary>
    public sealed record Send(string DeviceId, IPeerPayload Payload) : IPeerLinkRequest;

    /// <summary>Round trip to the peer; answered with <see cref="PingReply"/>, or nothing if the peer is away.</summary>
    public sealed record Ping(string DeviceId) : IPeerLinkRequest;

    public sealed record PingReply(string DeviceId, TimeSpan RoundTrip);

    /// <summary>
    /// Check a signed HTTP request from the peer (SPEC §5). Answered with <see cref="RequestChecked"/>.
    /// </summary>
    public sealed record CheckRequest(
        string DeviceId, string Method, string PathAndQuery, string? Timestamp, string? Nonce, string? Signature, byte[] Body) : IPeerLinkRequest;

    public sealed record RequestChecked(RequestVerdict Verdict, PeerDevice? Peer);

    /// <summary>An authenticated payload from a peer, for the local actors that handle it.</summary>
    public sealed record Received(string DeviceId, PeerRole Role, IPeerPayload Payload);

    /// <summary>From the directory: the peer's record changed, its keys did not.</summary>
    public sealed record Updated(PeerDevice Peer);

    /// <summary>Published when a peer comes online or goes offline.</summary>
    public sealed record PresenceChanged(string DeviceId, bool Online, DateTimeOffset? LastSeen);
}

/// <summary>
/// The only way local actors talk to one paired device (SPEC §2). Signs what goes out, checks what
/// comes in (MAC, freshness, replay), and tracks the peer's liveness from authenticated heartbeats
/// rather than remote DeathWatch, so a paused or restarted peer is never quarantined: when it is
/// heard again it is online again. While the peer is away the heartbeat backs off, with jitter, up to
/// the reconnect interval.
/// </summary>
public sealed class PeerProxy : ReceiveActor, IWithTimers
{
    private sealed class Beat
    {
        public static readonly Beat Instance = new();
        private Beat() { }
    }

    /// <summary>Sends what was queued for the peer since the last flush (see <see cref="SendToPeer"/>).</summary>
    private sealed class Flush
    {
        public static readonly Flush Instance = new();
        private Flush() { }
    }

    private sealed class CheckLiveness
    {
        public static readonly CheckLiveness Instance = new();
        private CheckLiveness() { }
    }

    private PeerDevice _peer;
    private readonly PeerLinkSettings _settings;
    private readonly PeerLinkCounters _counters;
    private readonly TimeProvider _clock;
    private readonly IActorRef _pairing;
    private readonly EnvelopeSigner _signer;
    private readonly EnvelopeVerifier _verifier;
    private readonly DeviceRequestVerifier _requests;
    private readonly string _selfAddress;
    private ActorSelection _remoteInbox;
    private string _peerAddress;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<long, (IActorRef Asker, long StartedTicks)> _pings = new();
    private readonly List<(string Manifest, byte[] Bytes)> _outbox = [];
    private long _nextPingId;
    private bool _online;
    private bool _completionAsked;
    private DateTimeOffset? _lastHeard;
    private DateTimeOffset _activeReported = DateTimeOffset.MinValue;
    private int _missedBeats;

    public PeerProxy(PeerDevice peer, PeerDirectoryProtocol.LocalLink self, long incarnation, PeerLinkSettings settings, PeerLinkCounters counters,
        TimeProvider clock, IActorRef pairing)
    {
        _selfAddress = self.RemoteAddress;
        _peerAddress = peer.RemoteAddress;
        _peer = peer;
        _settings = settings;
        _counters = counters;
        _clock = clock;
        _pairing = pairing;
        var keys = peer.Keys();
        _signer = new EnvelopeSigner(self.DeviceId, peer.DeviceId, incarnation, keys, clock);
        _verifier = new EnvelopeVerifier(self.DeviceId, peer.DeviceId, keys, settings.FreshnessWindow, clock);
        _requests = new DeviceRequestVerifier(keys, settings.FreshnessWindow, settings.MaxRequestNonces, clock);
        _remoteInbox = Context.ActorSelection(peer.RemoteAddress + PeerInbox.Path);

        Receive<Beat>(_ => OnBeat());
        Receive<PeerProxyProtocol.Updated>(updated =>
        {
            var wasPending = _peer.Pending;
            _peer = updated.Peer;
            if (_peer.RemoteAddress != _peerAddress)
            {
                _peerAddress = _peer.RemoteAddress;
                _remoteInbox = Context.ActorSelection(_peerAddress + PeerInbox.Path);
            }
            if (wasPending && !_peer.Pending)
                Self.Tell(Beat.Instance); // a completed pairing starts its heartbeat now
        });
        Receive<CheckLiveness>(_ => OnCheckLiveness());
        Receive<Flush>(_ => FlushOutbox());
        Receive<PeerProxyProtocol.Inbound>(inbound => OnInbound(inbound.Envelope));
        Receive<PeerProxyProtocol.Send>(send => SendToPeer(send.Payload));
        Receive<PeerProxyProtocol.Ping>(_ => StartPing());
        Receive<PeerProxyProtocol.CheckRequest>(check => Sender.Tell(new PeerProxyProtocol.RequestChecked(
            _requests.Verify(check.Method, check.PathAndQuery, check.DeviceId, check.Timestamp, check.Nonce, check.Signature, check.Body),
            _peer with { LastSeen = _lastHeard ?? _peer.LastSeen })));
        Receive<PeerDirectoryProtocol.GetPresence>(_ => Sender.Tell(new PeerProxyProtocol.PresenceChanged(_peer.DeviceId, _online, _lastHeard)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override void PreStart()
    {
        Self.Tell(Beat.Instance);
        Timers.StartPeriodicTimer(nameof(CheckLiveness), CheckLiveness.Instance, _settings.HeartbeatInterval / 2);
    }

    protected override void PostStop()
    {
        if (_online)
            Context.System.EventStream.Publish(new PeerProxyProtocol.PresenceChanged(_peer.DeviceId, false, _lastHeard));
    }

    private void OnBeat()
    {
        // A pending pairing only listens: until the target has committed it refuses our certificate, and
        // knocking on its door meanwhile only gets the address gated.
        if (!_peer.Pending)
            SendToPeer(new PeerPayloads.Heartbeat(_clock.GetUtcNow().ToUnixTimeMilliseconds(), _selfAddress));
        Timers.StartSingleTimer(nameof(Beat), Beat.Instance, NextBeat());
        if (_peer.Pending && _clock.GetUtcNow() - _peer.PairedAt > _settings.PendingTimeout && !_completionAsked)
        {
            // The target never proved the keys: it did not commit the pairing. Forget it.
            _completionAsked = true;
            _pairing.Tell(new PairingCommands.AbandonSensorPairing(_peer.DeviceId));
        }
    }

    /// <summary>The beat while online; while away, doubling up to the reconnect interval, with ±20 % jitter so peers do not beat in step.</summary>
    private TimeSpan NextBeat()
    {
        if (_online)
            return _settings.HeartbeatInterval;
        _missedBeats = Math.Min(_missedBeats + 1, 16);
        var backoff = Math.Min(_settings.HeartbeatInterval.TotalMilliseconds * Math.Pow(2, _missedBeats - 1),
            _settings.ReconnectMaxInterval.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(backoff * (0.8 + Random.Shared.NextDouble() * 0.4));
    }

    private void OnCheckLiveness()
    {
        if (_online && _lastHeard is { } heard && _clock.GetUtcNow() - heard > _settings.LivenessTimeout)
        {
            _online = false;
            _missedBeats = 0;
            _pings.Clear(); // unanswered probes to a peer that left will never be answered
            _log.Info("Peer {0} went offline (last heard {1:O})", _peer.DeviceId, heard);
            Announce();
        }
    }

    private void Announce()
    {
        var presence = new PeerProxyProtocol.PresenceChanged(_peer.DeviceId, _online, _lastHeard);
        Context.Parent.Tell(presence);
        Context.System.EventStream.Publish(presence);
    }

    private void OnInbound(SignedEnvelope envelope)
    {
        var verdict = _verifier.Verify(envelope);
        _counters.Count(verdict);
        if (verdict != EnvelopeVerdict.Accepted)
            return;
        if (envelope.Manifest != PeerPayloadCodec.BatchManifest)
        {
            OnPayload(envelope.Manifest, envelope.Payload);
            return;
        }
        // One signature covers the batch; each entry is then taken as if it had come alone.
        if (PeerPayloadCodec.DecodeBatch(envelope.Payload, _settings.MaxBatchPayloads) is not { } entries)
        {
            _counters.CountBadPayload();
            return;
        }
        foreach (var (manifest, bytes) in entries)
            OnPayload(manifest, bytes);
    }

    private void OnPayload(string manifest, byte[] bytes)
    {
        var payload = PeerPayloadCodec.Decode(manifest, bytes);
        if (payload is null)
        {
            _counters.CountBadPayload();
            return;
        }
        Heard();
        switch (payload)
        {
            case PeerPayloads.Heartbeat heartbeat when heartbeat.Address != _peerAddress && PeerAddress.IsLinkAddress(heartbeat.Address):
                // The peer came back elsewhere (another port or IP); its signed word is good enough to follow it.
                _log.Info("Peer {0} moved from {1} to {2}", _peer.DeviceId, _peerAddress, heartbeat.Address);
                _peerAddress = heartbeat.Address;
                _remoteInbox = Context.ActorSelection(_peerAddress + PeerInbox.Path);
                _pairing.Tell(new PairingCommands.MovePeer(_peer.DeviceId, _peerAddress));
                break;
            case PeerPayloads.Heartbeat:
                break;
            case PeerPayloads.Ping ping:
                SendToPeer(new PeerPayloads.Pong(ping.Id));
                break;
            case PeerPayloads.Pong pong when _pings.Remove(pong.Id, out var waiting):
                waiting.Asker.Tell(new PeerProxyProtocol.PingReply(_peer.DeviceId,
                    TimeSpan.FromTicks(_clock.GetTimestamp() - waiting.StartedTicks) * TimeSpan.TicksPerSecond / _clock.TimestampFrequency));
                break;
            case PeerPayloads.Pong:
                break;
            default:
                Context.System.EventStream.Publish(new PeerProxyProtocol.Received(_peer.DeviceId, _peer.Role, payload));
                break;
        }
    }

    private void Heard()
    {
        var now = _clock.GetUtcNow();
        _lastHeard = now;
        if (!_online)
        {
            _online = true;
            _missedBeats = 0;
            _log.Info("Peer {0} is online", _peer.DeviceId);
            Announce();
            // Answer at once, so the peer learns we are back without waiting for our backed-off beat.
            Timers.StartSingleTimer(nameof(Beat), Beat.Instance, TimeSpan.Zero);
        }
        if (_peer.Pending && !_completionAsked)
        {
            // Only a target that committed the pairing holds these keys: its message completes ours.
            _completionAsked = true;
            _pairing.Tell(new PairingCommands.CompleteSensorPairing(_peer.DeviceId));
        }
        // The coordinator keeps last_seen (and journals it once a minute); telling it once per liveness
        // period is plenty, and keeps busy links from flooding its mailbox.
        if (now - _activeReported >= _settings.LivenessTimeout)
        {
            _activeReported = now;
            _pairing.Tell(new PairingQueries.PeerActive(_peer.DeviceId));
        }
    }

    private void StartPing()
    {
        if (_pings.Count >= _settings.MaxPendingPings)
            return;
        var id = ++_nextPingId;
        _pings[id] = (Sender, _clock.GetTimestamp());
        SendToPeer(new PeerPayloads.Ping(id));
    }

    /// <summary>
    /// Queues the payload and, if the queue was empty, a flush behind whatever is already in the mailbox: a quiet
    /// link sends each payload at once (one extra local message), a busy one sends what piled up meanwhile as
    /// one signed envelope, paying the MAC and the remoting message once for many.
    /// </summary>
    private void SendToPeer(IPeerPayload payload)
    {
        _outbox.Add(PeerPayloadCodec.Encode(payload));
        if (_outbox.Count == 1)
            Self.Tell(Flush.Instance);
    }

    private void FlushOutbox()
    {
        foreach (var (manifest, bytes) in PeerPayloadCodec.Batches(_outbox, _settings.MaxBatchPayloads, _settings.MaxBatchBytes))
            _remoteInbox.Tell(new PeerWire(_signer.Sign(manifest, bytes).Encode()), ActorRefs.NoSender);
        _outbox.Clear();
    }

    public static Props Props(PeerDevice peer, PeerDirectoryProtocol.LocalLink self, long incarnation, PeerLinkSettings settings, PeerLinkCounters counters,
        TimeProvider clock, IActorRef pairing) =>
        Akka.Actor.Props.Create(() => new PeerProxy(peer, self, incarnation, settings, counters, clock, pairing));
}
