using Akka.Actor;
using Abpa3.Actors.Remoting;

namespace Abpa3.Actors.Peers;

/// <summary>
/// The one actor reachable from the wire (the only trusted selection path, SPEC §5). It accepts nothing
/// but <see cref="PeerWire"/> bytes, decodes them into an envelope and hands that straight to the proxy of
/// the peer it names as sender (the directory keeps the inbox's routes current), which checks it.
/// Anything else, and envelopes from senders with no link, are dropped and counted.
/// </summary>
public sealed class PeerInbox : ReceiveActor
{
    public const string Name = "peer-inbox";
    /// <summary>Under the device supervisor and its peer directory; the one trusted selection path in <c>hocon/akka.hocon</c>.</summary>
    public const string Path = "/user/device/peers/" + Name;

    /// <summary>From the directory: the proxy of each linked peer, by device id.</summary>
    public sealed record Routes(System.Collections.Immutable.ImmutableDictionary<string, IActorRef> Proxies);

    private System.Collections.Immutable.ImmutableDictionary<string, IActorRef> _proxies =
        System.Collections.Immutable.ImmutableDictionary<string, IActorRef>.Empty;

    public PeerInbox(IActorRef directory, PeerLinkCounters counters)
    {
        Receive<PeerWire>(wire =>
        {
            if (SignedEnvelope.Decode(wire.Bytes) is not { } envelope)
                counters.CountMalformed();
            else if (_proxies.TryGetValue(envelope.Sender, out var proxy))
                proxy.Tell(new PeerProxyProtocol.Inbound(envelope));
            else
                counters.CountUnknownSender();
        });
        // Only the directory (a local actor) sets routes; the same message from the wire is ignored.
        Receive<Routes>(routes =>
        {
            if (Sender.Equals(directory))
                _proxies = routes.Proxies;
            else
                counters.CountMalformed();
        });
        ReceiveAny(_ => counters.CountMalformed());
    }

    /// <summary>Nothing from the wire may stop or restart the inbox: a remote Kill is absorbed, not obeyed.</summary>
    protected override void PreRestart(Exception reason, object message) { }

    public static Props Props(IActorRef directory, PeerLinkCounters counters) =>
        Akka.Actor.Props.Create(() => new PeerInbox(directory, counters));
}
