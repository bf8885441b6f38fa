using System.Globalization;
using System.Text;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Remoting;
using Abpa3.Web.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Abpa3.Web.Endpoints;

/// <summary>
/// <c>GET /metrics</c> (SPEC §4): Prometheus text. Counters only, no identifiers or secrets: what arrived on
/// the peer link and why anything was dropped, refused remoting handshakes, and peers online.
/// </summary>
public static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetrics(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/metrics", Metrics).AllowAnonymous();
        return routes;
    }

    private static async Task<IResult> Metrics(HttpContext context, PeerLinkCounters counters, PeerCertificatePins pins, DeviceGateway gateway)
    {
        var presence = (PeerDirectoryProtocol.Presence)await gateway.AskAsync(PeerDirectoryProtocol.GetPresence.Instance, context.RequestAborted);
        var text = new StringBuilder();
        text.AppendLine("# HELP abpa3_peer_envelopes_total Signed envelopes received from the peer link, by outcome.");
        text.AppendLine("# TYPE abpa3_peer_envelopes_total counter");
        foreach (var (result, value) in new (string, long)[]
                 {
                     ("accepted", counters.Accepted), ("malformed", counters.Malformed), ("unknown_sender", counters.UnknownSender),
                     ("not_for_us", counters.NotForUs), ("bad_mac", counters.BadMac), ("stale", counters.Stale),
                     ("replayed", counters.Replayed), ("bad_payload", counters.BadPayload),
                 })
            text.Append(CultureInfo.InvariantCulture, $"abpa3_peer_envelopes_total{{result=\"{result}\"}} {value}\n");
        text.AppendLine("# HELP abpa3_remoting_handshakes_refused_total TLS handshakes on the remoting port refused (certificate not paired).");
        text.AppendLine("# TYPE abpa3_remoting_handshakes_refused_total counter");
        text.Append(CultureInfo.InvariantCulture, $"abpa3_remoting_handshakes_refused_total {pins.Refused}\n");
        text.AppendLine("# HELP abpa3_peers Paired devices with a link, by presence.");
        text.AppendLine("# TYPE abpa3_peers gauge");
        text.Append(CultureInfo.InvariantCulture, $"abpa3_peers{{presence=\"online\"}} {presence.Peers.Values.Count(p => p.Online)}\n");
        text.Append(CultureInfo.InvariantCulture, $"abpa3_peers{{presence=\"offline\"}} {presence.Peers.Values.Count(p => !p.Online)}\n");
        return TypedResults.Text(text.ToString(), "text/plain; version=0.0.4");
    }
}
