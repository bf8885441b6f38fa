using System.Text.Json.Serialization;
using Akka.Actor;
using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Remoting;
using Abpa3.Web.Auth;
using Abpa3.Web.Http;
using Abpa3.Web.Peers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Abpa3.Web.Endpoints;

/// <summary>
/// Device-to-device pairing (seed 004, SPEC §4–5). On the manager: discover a device by address and pair
/// it with the setup code from its console. On the target: the two handshake steps the manager calls,
/// <c>/api/devices/pair/request</c> (J-PAKE rounds 1–2) and <c>/api/devices/pair/confirm</c> (round 2 and key confirmation).
/// </summary>
public static class DevicePairingApi
{
    public sealed record DiscoverRequest([property: JsonPropertyName("ip_address")] string? IpAddress);

    public sealed record DiscoverResponse(
        [property: JsonPropertyName("discovered")] bool Discovered,
        [property: JsonPropertyName("device")] DevicesApi.DeviceInfoResponse Device,
        [property: JsonPropertyName("can_pair")] bool CanPair,
        [property: JsonPropertyName("reason"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Reason);

    public sealed record InitiateRequest(
        [property: JsonPropertyName("target_ip")] string? TargetIp,
        [property: JsonPropertyName("setup_code")] string? SetupCode);

    public sealed record InitiateResponse(
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("device")] DevicesApi.DeviceInfoResponse Device,
        [property: JsonPropertyName("relationship")] string Relationship,
        [property: JsonPropertyName("detail"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Detail = null);

    /// <summary>Handshake step 1, manager → target: who the manager is, and its first J-PAKE round.</summary>
    public sealed record HandshakeRequest(
        [property: JsonPropertyName("manager_id")] string? ManagerId,
        [property: JsonPropertyName("manager_name")] string? ManagerName,
        [property: JsonPropertyName("manager_cert_sha256")] string? ManagerCertSha256,
        [property: JsonPropertyName("round1")] PakeWire.Round1? Round1);

    /// <summary>Handshake step 1, target → manager: its J-PAKE rounds 1 and 2, and where the target's link listens.</summary>
    public sealed record HandshakeChallenge(
        [property: JsonPropertyName("attempt_id")] string AttemptId,
        [property: JsonPropertyName("device_id")] string DeviceId,
        [property: JsonPropertyName("cert_sha256")] string CertSha256,
        [property: JsonPropertyName("remote_address")] string RemoteAddress,
        [property: JsonPropertyName("round1")] PakeWire.Round1 Round1,
        [property: JsonPropertyName("round2")] PakeWire.Round2 Round2);

    /// <summary>Handshake step 2, manager → target: round 2 and the key confirmation, the manager's link address, and its sealed owner account if the target has none.</summary>
    public sealed record HandshakeConfirm(
        [property: JsonPropertyName("attempt_id")] string? AttemptId,
        [property: JsonPropertyName("round2")] PakeWire.Round2? Round2,
        [property: JsonPropertyName("confirmation")] PakeWire.Round3? Confirmation,
        [property: JsonPropertyName("manager_remote_address")] string? ManagerRemoteAddress,
        [property: JsonPropertyName("sealed_owner")] string? SealedOwner);

    /// <summary>Handshake step 2, target → manager: its key confirmation.</summary>
    public sealed record HandshakeAcceptance([property: JsonPropertyName("confirmation")] PakeWire.Round3? Confirmation);

    public sealed record UnlockResponse([property: JsonPropertyName("status")] string Status);

    /// <summary>Bound on the sealed owner account (a username and a password hash, encrypted).</summary>
    private const int MaxSealedOwnerBytes = 4096;
    
    public static IEndpointRouteBuilder MapDevicePairing(this IEndpointRouteBuilder routes)
    {
        var devices = routes.MapGroup("/api/devices");
        devices.MapPost("/discover/manual", Discover).RequireAuthorization(Roles.OwnerOrAdminPolicy);
        devices.MapPost("/pair/initiate", Initiate).RequireAuthorization(Roles.OwnerOrAdminPolicy);
        devices.MapPost("/pair/unlock", Unlock).RequireAuthorization(Roles.OwnerOrAdminPolicy);
        devices.MapPost("/pair/request", Request).AllowAnonymous().RequireRateLimiting(RateLimits.DevicePair);
        devices.MapPost("/pair/confirm", Confirm).AllowAnonymous().RequireRateLimiting(RateLimits.DevicePair);
        return routes;
    }

    // ---- manager side ----

    private static async Task<IResult> Discover(HttpContext context, DeviceGateway gateway, DeviceHttpClient devices, EdgeSettings edge)
    {
        var body = await JsonBody.ReadAsync<DiscoverRequest>(context.Request, edge.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        if (!DeviceAddress.TryParse(body.Value!.IpAddress, out var address, out var problem))
            return Problems.Invalid(new Dictionary<string, string[]> { ["ip_address"] = [problem] });

        var self = (DeviceMessages.DeviceInfo)await gateway.AskAsync(DeviceMessages.GetDeviceInfo.Instance, context.RequestAborted);
        DevicesApi.DeviceInfoResponse info;
        try
        {
            (info, _) = await devices.ProbeAsync(address!, context.RequestAborted);
        }
        catch (DeviceUnreachableException e)
        {
            return Unreachable(e);
        }
        catch (DeviceProtocolException e)
        {
            return Problems.Status(StatusCodes.Status502BadGateway, "Not a mesh device", $"{address}: {e.Message}");
        }
        var reason = CannotPairReason(self, info);
        return TypedResults.Ok(new DiscoverResponse(true, info, reason is null, reason));
    }

    private static string? CannotPairReason(DeviceMessages.DeviceInfo self, DevicesApi.DeviceInfoResponse target)
    {
        if (target.DeviceId == self.DeviceId)
            return "this is the device itself";
        if (self.Lifecycle.Role == DeviceRole.Sensor)
            return "this device is a sensor; only a manager (or an unpaired device) can pair others";
        if (target.ManagerDeviceId == self.DeviceId)
            return null; // ours already: pairing again renews the keys
        return target.State is "unconfigured" or "configured"
            ? null
            : $"Device already in state: {target.State}" + (target.IsManager ? " (it is a manager)" : "");
    }

    private static async Task<IResult> Initiate(
        HttpContext context, DeviceGateway gateway, DeviceHttpClient devices, EdgeSettings edge, NodeIdentity identity)
    {
        var body = await JsonBody.ReadAsync<InitiateRequest>(context.Request, edge.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var request = body.Value!;
        DeviceAddress? address = null;
        var rules = new FieldRules()
            .Require("target_ip", DeviceAddress.TryParse(request.TargetIp, out address, out var addressProblem), addressProblem)
            .Require("setup_code", SetupCode.TryParse(request.SetupCode, out _), "the 8-digit setup code shown on the other device's console");
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        var self = (DeviceMessages.DeviceInfo)await gateway.AskAsync(DeviceMessages.GetDeviceInfo.Instance, context.RequestAborted);
        if (self.Lifecycle.Role == DeviceRole.Sensor)
            return Problems.Conflict("this device is a sensor; a sensor cannot manage other devices");

        // One conversation: one kept-alive connection, and every request answered by the same certificate.
        using var conversation = devices.Open(address!);
        try
        {
            var info = await conversation.ProbeAsync(context.RequestAborted);
            var presented = conversation.PresentedCertSha256;
            if (CannotPairReason(self, info) is { } reason)
                return Problems.Conflict(reason);
            if (presented is not null && presented != info.CertSha256)
                return Problems.Status(StatusCodes.Status502BadGateway, "Identity mismatch",
                    "the device's TLS certificate is not the one it reports; something sits between the two devices");
            var targetCert = presented ?? info.CertSha256;
            var local = (PeerDirectoryProtocol.LocalLink)await gateway.AskAsync(
                PeerDirectoryProtocol.GetLocalLink.Instance, context.RequestAborted);

            var pakeContext = new DevicePake.Context(self.DeviceId, info.DeviceId, self.CertSha256, targetCert);
            var initiator = new PakeInitiator(pakeContext, request.SetupCode!);
            var challenge = await conversation.PostAsync<HandshakeChallenge>("/api/devices/pair/request",
                new HandshakeRequest(self.DeviceId, self.Name, self.CertSha256, PakeWire.From(initiator.Start())), context.RequestAborted);
            if (challenge.DeviceId != info.DeviceId || challenge.CertSha256 != targetCert || !IsLinkAddress(challenge.RemoteAddress)
                || PakeWire.Parse(challenge.Round1) is not { } targetRound1 || PakeWire.Parse(challenge.Round2) is not { } targetRound2)
                return Problems.Status(StatusCodes.Status502BadGateway, "Handshake failed", "the device's answer is malformed or names another device");
            // A relay that altered anything, or showed the device another certificate than ours, fails here or at the target.
            if (initiator.Answer(targetRound1, targetRound2) is not { } answer)
                return Problems.Status(StatusCodes.Status502BadGateway, "Handshake failed",
                    "the device's key exchange values do not verify (altered in transit, or not the device this address showed)");
            var secret = initiator.DerivedSecret;
            var keys = PairKeys.Derive(secret, self.DeviceId, info.DeviceId);

            string? sealedOwner = null;
            if (info.State == "unconfigured")
            {
                if (await gateway.AskAsync(PairingQueries.GetOwner.Instance, context.RequestAborted) is not PairingQueries.UserFound owner)
                    return Problems.Conflict("this device has no owner yet");
                sealedOwner = Convert.ToBase64String(DevicePake.Seal(secret, pakeContext,
                    PeerPairingProtocol.EncodeOwner(new PeerPairingProtocol.OwnerAccount(owner.Account.Username, owner.Account.PasswordHash))));
            }

            // Remembered before the proof leaves: if the answer is lost, the link completes the pairing later.
            var sensor = new PeerDevice(info.DeviceId, info.Name, PeerRole.Sensor, targetCert, challenge.RemoteAddress,
                address!.BaseUri(devices.Tls).ToString(), keys.OutgoingBase64, keys.IncomingBase64, DateTimeOffset.UnixEpoch, null, false, true);
            var begun = await gateway.AskAsync(new PairingCommands.BeginSensorPairing(sensor), context.RequestAborted);
            if (begun is PairingReplies.Refused refused)
                return Problems.Conflict(refused.Message);

            HandshakeAcceptance acceptance;
            try
            {
                acceptance = await conversation.PostAsync<HandshakeAcceptance>("/api/devices/pair/confirm",
                    new HandshakeConfirm(challenge.AttemptId, PakeWire.From(answer.Round2), PakeWire.From(answer.Confirmation),
                        local.RemoteAddress, sealedOwner),
                    context.RequestAborted);
            }
            catch (DeviceProtocolException e)
            {
                await gateway.AskAsync(new PairingCommands.AbandonSensorPairing(info.DeviceId), CancellationToken.None);
                return e.Status switch
                {
                    StatusCodes.Status403Forbidden => Problems.Forbidden(e.Detail ?? "wrong setup code"),
                    StatusCodes.Status409Conflict => Problems.Status(StatusCodes.Status409Conflict, "Pairing refused", e.Detail ?? e.Message),
                    StatusCodes.Status410Gone => Problems.Status(StatusCodes.Status409Conflict, "Pairing refused",
                        "the device's handshake expired before it was confirmed; try again"),
                    StatusCodes.Status429TooManyRequests => Problems.Status(StatusCodes.Status429TooManyRequests, "Too many requests",
                        e.Detail ?? "the device is refusing pairing attempts for now; wait and try again"),
                    _ => Problems.Status(StatusCodes.Status502BadGateway, "Handshake failed", e.Message),
                };
            }
            catch (DeviceUnreachableException e)
            {
                // The target may have accepted and then failed to answer: the outcome is unknown, and the link settles it.
                return TypedResults.Accepted($"/api/devices", new InitiateResponse("pending", info, "manager",
                    $"no answer to the final step ({e.Message}); the pairing completes by itself when the device proves it over the link, "
                    + "or is dropped if it never does"));
            }

            if (PakeWire.Parse(acceptance.Confirmation) is not { } targetConfirmation || initiator.Finish(targetConfirmation) is null)
            {
                // The target checked our confirmation, so it holds the right keys if it committed; only the link can tell.
                return Problems.Status(StatusCodes.Status502BadGateway, "Handshake failed",
                    "the device's answer did not verify (altered in transit?); the pairing completes only if the device proves the keys over the link");
            }
            await gateway.AskAsync(new PairingCommands.CompleteSensorPairing(info.DeviceId), context.RequestAborted);
            var after = await conversation.ProbeAsync(context.RequestAborted).ContinueWith(
                t => t.IsCompletedSuccessfully ? t.Result : info, TaskScheduler.Default);
            return TypedResults.Ok(new InitiateResponse("paired", after, "manager"));
        }
        catch (DeviceUnreachableException e)
        {
            return Unreachable(e);
        }
        catch (DeviceProtocolException e) when (e.Status is StatusCodes.Status409Conflict)
        {
            return Problems.Status(StatusCodes.Status409Conflict, "Pairing refused", e.Detail ?? e.Message);
        }
        catch (DeviceProtocolException e) when (e.Status is StatusCodes.Status429TooManyRequests)
        {
            return Problems.Status(StatusCodes.Status429TooManyRequests, "Too many requests", e.Detail ?? e.Message);
        }
        catch (DeviceProtocolException e)
        {
            return Problems.Status(StatusCodes.Status502BadGateway, "Handshake failed", e.Message);
        }
    }

    private static async Task<IResult> Unlock(HttpContext context, DeviceGateway gateway)
    {
        await gateway.AskAsync(PeerPairingProtocol.Unlock.Instance, context.RequestAborted);
        return TypedResults.Ok(new UnlockResponse("unlocked"));
    }

    private static IResult Unreachable(DeviceUnreachableException e) => e.TimedOut
        ? Problems.Status(StatusCodes.Status504GatewayTimeout, "Device not reachable", e.Message)
        : Problems.Status(StatusCodes.Status502BadGateway, "Device not reachable", e.Message);

    // ---- target side ----

    private static async Task<IResult> Request(HttpContext context, DeviceGateway gateway, EdgeSettings edge)
    {
        var body = await JsonBody.ReadAsync<HandshakeRequest>(context.Request, edge.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var request = body.Value!;
        var rules = new FieldRules()
            .Require("manager_id", DeviceId.TryParse(request.ManagerId, out _), "the manager's device id")
            .Require("manager_name", request.ManagerName is { Length: > 0 and <= PeerDevice.MaxNameLength }, "1–64 characters")
            .Require("manager_cert_sha256", IsFingerprint(request.ManagerCertSha256), "64 lowercase hex digits")
            .Require("round1", PakeWire.Parse(request.Round1) is not null, "the manager's first J-PAKE round");
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        var reply = await gateway.AskAsync(new PeerPairingProtocol.Begin(request.ManagerId!, request.ManagerName!, request.ManagerCertSha256!,
            PakeWire.Parse(request.Round1)!), context.RequestAborted);
        return reply switch
        {
            PeerPairingProtocol.Challenged c => TypedResults.Ok(new HandshakeChallenge(c.AttemptId, c.DeviceId, c.CertSha256, c.RemoteAddress,
                PakeWire.From(c.Round1), PakeWire.From(c.Round2))),
            _ => HandshakeRefusal(reply),
        };
    }

    private static async Task<IResult> Confirm(HttpContext context, DeviceGateway gateway, EdgeSettings edge)
    {
        var body = await JsonBody.ReadAsync<HandshakeConfirm>(context.Request, edge.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var c = body.Value!;
        byte[] sealedOwner = [];
        var round2 = PakeWire.Parse(c.Round2);
        var confirmation = PakeWire.Parse(c.Confirmation);
        var rules = new FieldRules()
            .Require("attempt_id", c.AttemptId is { Length: 32 } id && id.All(char.IsAsciiHexDigitLower), "the attempt id from the challenge")
            .Require("round2", round2 is not null, "the manager's second J-PAKE round")
            .Require("confirmation", confirmation is not null, "the manager's key confirmation")
            .Require("manager_remote_address", IsLinkAddress(c.ManagerRemoteAddress), "the manager's akka.ssl.tcp://abpa3@host:port address")
            .Require("sealed_owner", c.SealedOwner is null || PakeWire.Bytes(c.SealedOwner, MaxSealedOwnerBytes, out sealedOwner), "base64");
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        var reply = await gateway.AskAsync(new PeerPairingProtocol.Confirm(c.AttemptId!, round2!, confirmation!,
            c.ManagerRemoteAddress!, c.SealedOwner is null ? null : sealedOwner), context.RequestAborted);
        return reply switch
        {
            PeerPairingProtocol.Accepted accepted => TypedResults.Ok(new HandshakeAcceptance(PakeWire.From(accepted.Confirmation))),
            PeerPairingProtocol.WrongCode wrong => Problems.Forbidden(wrong.AttemptsLeft > 0
                ? $"wrong setup code; {wrong.AttemptsLeft} more wrong code{(wrong.AttemptsLeft == 1 ? " locks" : "s lock")} pairing"
                : "wrong setup code; pairing is now locked until the device's owner unlocks it or the device restarts"),
            _ => HandshakeRefusal(reply),
        };
    }

    private static IResult HandshakeRefusal(object reply) => reply switch
    {
        PairingReplies.Refused { Reason: RefusalReason.AlreadyPaired } r => Problems.Status(StatusCodes.Status409Conflict, "Already paired", r.Message),
        PairingReplies.Refused { Reason: RefusalReason.PairingLocked } r => Problems.Status(StatusCodes.Status409Conflict, "Pairing locked", r.Message),
        PairingReplies.Refused { Reason: RefusalReason.Busy } r => Problems.Status(StatusCodes.Status429TooManyRequests, "Too many requests", r.Message),
        PairingReplies.Refused { Reason: RefusalReason.AttemptExpired } r => Problems.Status(StatusCodes.Status410Gone, "Attempt expired", r.Message),
        PairingReplies.Refused { Reason: RefusalReason.InvalidHandshake } r =>
            Problems.Invalid(new Dictionary<string, string[]> { ["round1"] = [r.Message] }),
        PairingReplies.Refused { Reason: RefusalReason.InvalidAccount } r =>
            Problems.Invalid(new Dictionary<string, string[]> { ["sealed_owner"] = [r.Message] }),
        PairingReplies.Refused r => Problems.Conflict(r.Message),
        Status.Failure => Problems.Unavailable("the pairing could not be written; try again"),
        _ => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
    };

    private static bool IsFingerprint(string? text) => text is { Length: 64 } && text.All(char.IsAsciiHexDigitLower);

    private static bool IsLinkAddress(string? text) => PeerAddress.IsLinkAddress(text);

}
