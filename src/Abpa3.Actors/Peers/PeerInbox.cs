using Akka.Actor;
using Abpa3.Actors.Remoting;

namespace Abpa3.Actors.Peers;

/// <summary>
/// The one actor reachable from the wire (the only trusted selection path, SPEC §5). It accepts nothing
/// but <see cref="PeerWire"/> bytes, decodes them into an envelope and hands that to the directory,
/// which routes it by sender to the peer's proxy for checking. Anything else is dropped and counted.
/// </summary>
public sealed class PeerInbox : ReceiveActor
{
    public const string Name = "peer-inbox";
    /// <summary>Under the device supervisor and its peer directory; the one trusted selection path in <c>hocon/akka.hocon</c>.</summary>
    public const string Path = "/user/device/peers/" + Name;

    public PeerInbox(IActorRef directory, PeerLinkCounters counters)
    {
        Receive<PeerWire>(wire =>
        {
            if (SignedEnvelope.Decode(wire.Bytes) is { } envelope)
                directory.Tell(new PeerProxyProtocol.Inbound(envelope));
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
