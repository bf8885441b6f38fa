using Abpa3.Actors.Pairing;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Remoting;
using Microsoft.AspNetCore.Http;

namespace Abpa3.Web.Http;

/// <summary>
/// Guards the device-to-device HTTP API (SPEC §5): the request must carry <c>X-Device-ID</c>,
/// <c>X-Timestamp</c>, <c>X-Nonce</c> and <c>X-Signature</c> from this device's manager, signed over the
/// method, path, timestamp, nonce and body hash with the pair's key; stale and replayed requests are
/// refused. The checked body is kept for the endpoint.
/// </summary>
public sealed class DeviceSignature(DeviceGateway gateway, EdgeSettings edge) : IEndpointFilter
{
    private const string BodyItem = "abpa3.device-body";
    private const string PeerItem = "abpa3.device-peer";

    public static byte[] Body(HttpContext context) => context.Items[BodyItem] as byte[] ?? [];

    public static PeerDevice Peer(HttpContext context) => (PeerDevice)context.Items[PeerItem]!;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        var headers = context.Request.Headers;
        var deviceId = headers[DeviceRequestSignature.DeviceIdHeader].ToString();
        if (deviceId.Length is 0 or > SignedEnvelope.MaxIdLength)
            return Problems.Unauthenticated("device authentication required (X-Device-ID, X-Timestamp, X-Nonce, X-Signature)");
        byte[] body;
        try
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            body = buffer.ToArray();
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problems.TooLarge($"The body may have at most {edge.MaxRequestBody} bytes.");
        }
        var reply = (PeerProxyProtocol.RequestChecked)await gateway.AskAsync(new PeerProxyProtocol.CheckRequest(
            deviceId, context.Request.Method, context.Request.Path.Value + context.Request.QueryString.Value,
            headers[DeviceRequestSignature.TimestampHeader], headers[DeviceRequestSignature.NonceHeader],
            headers[DeviceRequestSignature.SignatureHeader], body), context.RequestAborted);
        switch (reply.Verdict)
        {
            case RequestVerdict.Accepted:
                break;
            case RequestVerdict.Stale:
                return Problems.Unauthenticated("the request's timestamp is outside the accepted window; check the devices' clocks");
            case RequestVerdict.Replayed:
                return Problems.Unauthenticated("this request was already received (replay)");
            case RequestVerdict.TooMany:
                return Problems.Status(StatusCodes.Status429TooManyRequests, "Too many requests", "too many signed requests in the window");
            default:
                return Problems.Unauthenticated("device authentication failed (unknown device or bad signature)");
        }
        // Only this device's manager may drive it; a sensor of ours may not.
        if (reply.Peer is not { Role: PeerRole.Manager, Revoked: false, Pending: false } peer)
            return Problems.Forbidden("only this device's manager may use this API");
        context.Items[BodyItem] = body;
        context.Items[PeerItem] = peer;
        return await next(invocation);
    }
}
