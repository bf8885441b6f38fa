using Abpa3.Actors.Remoting;

namespace Abpa3.Actors.Peers;

/// <summary>
/// What arrived on the peer link and what was dropped, by reason (THREATS T6): shared by the inbox and
/// every proxy, read by the edge for <c>/metrics</c> and by the tests.
/// </summary>
public sealed class PeerLinkCounters
{
    private long _accepted, _malformed, _unknownSender, _notForUs, _badMac, _stale, _replayed, _badPayload;

    public long Accepted => Interlocked.Read(ref _accepted);
    public long Malformed => Interlocked.Read(ref _malformed);
    public long UnknownSender => Interlocked.Read(ref _unknownSender);
    public long NotForUs => Interlocked.Read(ref _notForUs);
    public long BadMac => Interlocked.Read(ref _badMac);
    public long Stale => Interlocked.Read(ref _stale);
    public long Replayed => Interlocked.Read(ref _replayed);
    public long BadPayload => Interlocked.Read(ref _badPayload);

    public long Dropped => Malformed + UnknownSender + NotForUs + BadMac + Stale + Replayed + BadPayload;

    internal void CountMalformed() => Interlocked.Increment(ref _malformed);
    internal void CountUnknownSender() => Interlocked.Increment(ref _unknownSender);
    internal void CountBadPayload() => Interlocked.Increment(ref _badPayload);

    internal void Count(EnvelopeVerdict verdict)
    {
        switch (verdict)
        {
            case EnvelopeVerdict.Accepted: Interlocked.Increment(ref _accepted); break;
            case EnvelopeVerdict.NotForUs: Interlocked.Increment(ref _notForUs); break;
            case EnvelopeVerdict.UnknownSender: Interlocked.Increment(ref _unknownSender); break;
            case EnvelopeVerdict.BadMac: Interlocked.Increment(ref _badMac); break;
            case EnvelopeVerdict.Stale: Interlocked.Increment(ref _stale); break;
            case EnvelopeVerdict.Replayed: Interlocked.Increment(ref _replayed); break;
        }
    }

    public override string ToString() =>
        $"accepted={Accepted} malformed={Malformed} unknown_sender={UnknownSender} not_for_us={NotForUs} bad_mac={BadMac} stale={Stale} replayed={Replayed} bad_payload={BadPayload}";
}
