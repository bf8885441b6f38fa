using System.Text.Json;
using System.Text.Json.Serialization;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Pairing;
using Abpa3.Web.Auth;
using Abpa3.Web.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Abpa3.Web.Endpoints;

/// <summary>Client pairing by QR code (seed 000, SPEC §4): the owner shows a code, a phone scans it and pairs.</summary>
public static class PairingApi
{
    /// <summary>The QR payload: seed 000's fields, plus what a client needs to pin the node.</summary>
    public sealed record QrPayload(
        [property: JsonPropertyName("host")] string Host,
        [property: JsonPropertyName("port")] int Port,
        [property: JsonPropertyName("pairToken")] string PairToken,
        [property: JsonPropertyName("expires")] long Expires,
        [property: JsonPropertyName("v")] int Version,
        [property: JsonPropertyName("tls")] bool Tls,
        [property: JsonPropertyName("cert_sha256")] string CertSha256,
        [property: JsonPropertyName("device_id")] string DeviceId);

    public sealed record QrResponse(
        [property: JsonPropertyName("id")] string Id,
        [property: JsonPropertyName("payload")] QrPayload Payload,
        [property: JsonPropertyName("qr_png")] string QrPng,
        [property: JsonPropertyName("qr_svg")] string QrSvg);

    public sealed record DeviceInfoRequest(
        [property: JsonPropertyName("name")] string? Name,
        [property: JsonPropertyName("type")] string? Type);

    public sealed record PairRequest(
        [property: JsonPropertyName("pairToken")] string? PairToken,
        [property: JsonPropertyName("deviceInfo")] DeviceInfoRequest? DeviceInfo);

    public sealed record PairResponse(
        [property: JsonPropertyName("deviceId")] string DeviceId,
        [property: JsonPropertyName("deviceKey")] string DeviceKey);

    public static IEndpointRouteBuilder MapPairing(this IEndpointRouteBuilder routes)
    {
        var qr = routes.MapGroup("/api/pairing/qr").RequireAuthorization(Roles.OwnerOrAdminPolicy);
        qr.MapPost("", CreateQr);
        qr.MapGet("/{file}", GetQrImage);
        routes.MapPost("/api/pair", Pair).AllowAnonymous().RequireRateLimiting(RateLimits.Pair);
        return routes;
    }

    private static async Task<IResult> CreateQr(
        HttpContext context, DeviceGateway gateway, NodeIdentity identity, PairingSettings pairing, QrCodeCache codes, Actors.Configuration.NodeSettings node)
    {
        var token = PairingSecrets.NewToken();
        var id = PairingSecrets.NewId();
        var reply = await gateway.AskAsync(
            new PairingCommands.IssuePairingToken(id, PairingSecrets.Hash(token), pairing.TokenLifetime, pairing.MaxLiveTokens),
            context.RequestAborted);
        if (reply is PairingReplies.Refused { Reason: RefusalReason.TooManyTokens } tooMany)
            return Problems.Status(StatusCodes.Status429TooManyRequests, "Too many pairing codes", tooMany.Message);
        if (reply is PairingReplies.Refused refused)
            return Problems.Conflict(refused.Message);

        var accepted = (PairingReplies.PairingTokenAccepted)reply;
        // The host the owner reached this node at is the one a phone on the same LAN can reach.
        var payload = new QrPayload(context.Request.Host.Host, context.Connection.LocalPort, token,
            accepted.ExpiresAt.ToUnixTimeSeconds(), 1, !node.PlainHttp, identity.CertSha256, identity.DeviceId.Value);
        codes.Add(id, JsonSerializer.Serialize(payload), accepted.ExpiresAt);
        return TypedResults.Ok(new QrResponse(id, payload, $"/api/pairing/qr/{id}.png", $"/api/pairing/qr/{id}.svg"));
    }

    private static IResult GetQrImage(string file, QrCodeCache codes)
    {
        var extension = Path.GetExtension(file);
        var id = Path.GetFileNameWithoutExtension(file);
        if (extension is not (".png" or ".svg"))
            return Problems.Status(StatusCodes.Status404NotFound, "Not found", "QR images are .png or .svg");
        return codes.TryGet(id, out var payload) switch
        {
            QrCodeCache.Lookup.Found when extension == ".png" => TypedResults.File(QrCodeCache.Png(payload), "image/png"),
            QrCodeCache.Lookup.Found => TypedResults.Text(QrCodeCache.Svg(payload), "image/svg+xml"),
            QrCodeCache.Lookup.Expired => Problems.Status(StatusCodes.Status410Gone, "Expired", "This pairing code has expired; create a new one."),
            _ => Problems.Status(StatusCodes.Status404NotFound, "Not found", "No such pairing code."),
        };
    }

    private static async Task<IResult> Pair(HttpContext context, DeviceGateway gateway, EdgeSettings settings)
    {
        var body = await JsonBody.ReadAsync<PairRequest>(context.Request, settings.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var request = body.Value!;
        var name = request.DeviceInfo?.Name;
        var type = request.DeviceInfo?.Type;
        var rules = new FieldRules()
            .Require("pairToken", PairingSecrets.IsTokenShaped(request.PairToken), "the pairToken from the QR code is required")
            .Require("deviceInfo.name", name is { Length: > 0 and <= ClientDevice.MaxNameLength } && !name.Any(char.IsControl),
                $"1–{ClientDevice.MaxNameLength} printable characters")
            .Require("deviceInfo.type", type is { Length: > 0 and <= ClientDevice.MaxTypeLength }
                                        && type.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '_'),
                $"1–{ClientDevice.MaxTypeLength} of a-z, 0-9, '-' and '_' (e.g. mobile, browser)");
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        var deviceKey = PairingSecrets.NewDeviceKey();
        var reply = await gateway.AskAsync(
            new PairingCommands.PairClient(PairingSecrets.Hash(request.PairToken!), ClientDeviceId(name!), name!, type!,
                PairingSecrets.Hash(deviceKey)),
            context.RequestAborted);
        return reply switch
        {
            // The key is shown this once; only its hash is kept.
            PairingReplies.ClientAccepted accepted => TypedResults.Ok(new PairResponse(accepted.Client.DeviceId, deviceKey)),
            PairingReplies.Refused { Reason: RefusalReason.TokenNotValid } r =>
                Problems.Status(StatusCodes.Status410Gone, "Pairing code not valid", r.Message),
            PairingReplies.Refused r => Problems.Conflict(r.Message),
            _ => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
        };
    }

    /// <summary>A readable, unique id from the device's name: "Pixel 7" → "pixel-7-3f9a0c".</summary>
    private static string ClientDeviceId(string name)
    {
        var slug = new string(name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        while (slug.Contains("--"))
            slug = slug.Replace("--", "-");
        slug = slug.Length == 0 ? "client" : slug[..Math.Min(slug.Length, 40)].TrimEnd('-');
        return $"{slug}-{PairingSecrets.NewId()[..6]}";
    }
}
