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
/// <c>/api/devices/pair/request</c> (SRP challenge) and <c>/api/devices/pair/confirm</c> (proof and acceptance).
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

    /// <summary>Handshake step 1, manager → target.</summary>
    public sealed record HandshakeRequest(
        [property: JsonPropertyName("manager_id")] string? ManagerId,
        [property: JsonPropertyName("manager_name")] string? ManagerName,
        [property: JsonPropertyName("manager_cert_sha256")] string? ManagerCertSha256);

    /// <summary>Handshake step 1, target → manager: the SRP salt and public value, and where the target's link listens.</summary>
    public sealed record HandshakeChallenge(
        [property: JsonPropertyName("attempt_id")] string AttemptId,
        [property: JsonPropertyName("salt")] string Salt,
        [property: JsonPropertyName("b")] string B,
        [property: JsonPropertyName("device_id")] string DeviceId,
        [property: JsonPropertyName("cert_sha256")] string CertSha256,
        [property: JsonPropertyName("remote_address")] string RemoteAddress);

    /// <summary>Handshake step 2, manager → target: the proof, the manager's link address, and its sealed owner account if the target has none.</summary>
    public sealed record HandshakeConfirm(
        [property: JsonPropertyName("attempt_id")] string? AttemptId,
        [property: JsonPropertyName("a")] string? A,
        [property: JsonPropertyName("m1")] string? M1,
        [property: JsonPropertyName("manager_confirm")] string? ManagerConfirm,
        [property: JsonPropertyName("manager_remote_address")] string? ManagerRemoteAddress,
        [property: JsonPropertyName("sealed_owner")] string? SealedOwner);

    /// <summary>Handshake step 2, target → manager: its proof that it derived the same keys.</summary>
    public sealed record HandshakeAcceptance(
        [property: JsonPropertyName("m2")] string M2,
        [property: JsonPropertyName("target_confirm")] string TargetConfirm);

    public sealed record UnlockResponse([property: JsonPropertyName("status")] string Status);

    /// <summary>Bounds on the handshake's fields (a 3072-bit group element is 384 bytes; proofs are SHA-256 sized).</summary>
    private const int MaxGroupElementBytes = 384;
    private const int MaxProofBytes = 384;
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

        try
        {
            var (info, presented) = await devices.ProbeAsync(address!, context.RequestAborted);
            if (CannotPairReason(self, info) is { } reason)
                return Problems.Conflict(reason);
            if (presented is not null && presented != info.CertSha256)
                return Problems.Status(StatusCodes.Status502BadGateway, "Identity mismatch",
                    "the device's TLS certificate is not the one it reports; something sits between the two devices");
            var targetCert = presented ?? info.CertSha256;
            var local = (PeerDirectoryProtocol.LocalLink)await gateway.AskAsync(
                PeerDirectoryProtocol.GetLocalLink.Instance, context.RequestAborted);

            var challenge = await devices.PostAsync<HandshakeChallenge>(address!, "/api/devices/pair/request",
                new HandshakeRequest(self.DeviceId, self.Name, self.CertSha256), null, context.RequestAborted);
            if (challenge.DeviceId != info.DeviceId || challenge.CertSha256 != targetCert
                || !TryBytes(challenge.Salt, 64, out var salt) || !TryBytes(challenge.B, MaxGroupElementBytes, out var b)
                || !IsLinkAddress(challenge.RemoteAddress))
                return Problems.Status(StatusCodes.Status502BadGateway, "Handshake failed", "the device's challenge is malformed or names another device");

            var pakeContext = new DevicePake.Context(self.DeviceId, info.DeviceId, self.CertSha256, targetCert);
            var initiator = new PakeInitiator(pakeContext, request.SetupCode!);
            if (initiator.Answer(new DevicePake.Challenge(salt, b)) is not { } proof)
                return Problems.Status(StatusCodes.Status502BadGateway, "Handshake failed", "the device's challenge is not a valid SRP value");
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
                acceptance = await devices.PostAsync<HandshakeAcceptance>(address, "/api/devices/pair/confirm",
                    new HandshakeConfirm(challenge.AttemptId, Convert.ToBase64String(proof.A), Convert.ToBase64String(proof.M1),
                        Convert.ToBase64String(proof.ManagerConfirm), local.RemoteAddress, sealedOwner),
                    null, context.RequestAborted);
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

            if (!TryBytes(acceptance.M2, MaxProofBytes, out var m2) || !TryBytes(acceptance.TargetConfirm, MaxProofBytes, out var targetConfirm)
                || initiator.Finish(new DevicePake.Acceptance(m2, targetConfirm)) is null)
            {
                // The target checked our proof, so it holds the right keys if it committed; only the link can tell.
                return Problems.Status(StatusCodes.Status502BadGateway, "Handshake failed",
                    "the device's answer did not verify (altered in transit?); the pairing completes only if the device proves the keys over the link");
            }
            await gateway.AskAsync(new PairingCommands.CompleteSensorPairing(info.DeviceId), context.RequestAborted);
            var (after, _) = await devices.ProbeAsync(address, context.RequestAborted).ContinueWith(
                t => t.IsCompletedSuccessfully ? t.Result : (info, null), TaskScheduler.Default);
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
            .Require("manager_cert_sha256", IsFingerprint(request.ManagerCertSha256), "64 lowercase hex digits");
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        var reply = await gateway.AskAsync(
            new PeerPairingProtocol.Begin(request.ManagerId!, request.ManagerName!, request.ManagerCertSha256!), context.RequestAborted);
        return reply switch
        {
            PeerPairingProtocol.Challenged c => TypedResults.Ok(new HandshakeChallenge(c.AttemptId, Convert.ToBase64String(c.Challenge.Salt),
                Convert.ToBase64String(c.Challenge.B), c.DeviceId, c.CertSha256, c.RemoteAddress)),
            _ => HandshakeRefusal(reply),
        };
    }

    private static async Task<IResult> Confirm(HttpContext context, DeviceGateway gateway, EdgeSettings edge)
    {
        var body = await JsonBody.ReadAsync<HandshakeConfirm>(context.Request, edge.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var c = body.Value!;
        byte[] a = [], m1 = [], confirm = [], sealedOwner = [];
        var rules = new FieldRules()
            .Require("attempt_id", c.AttemptId is { Length: 32 } id && id.All(char.IsAsciiHexDigitLower), "the attempt id from the challenge")
            .Require("a", TryBytes(c.A, MaxGroupElementBytes, out a), $"base64, at most {MaxGroupElementBytes} bytes")
            .Require("m1", TryBytes(c.M1, MaxProofBytes, out m1), $"base64, at most {MaxProofBytes} bytes")
            .Require("manager_confirm", TryBytes(c.ManagerConfirm, MaxProofBytes, out confirm), $"base64, at most {MaxProofBytes} bytes")
            .Require("manager_remote_address", IsLinkAddress(c.ManagerRemoteAddress), "the manager's akka.ssl.tcp://abpa3@host:port address")
            .Require("sealed_owner", c.SealedOwner is null || TryBytes(c.SealedOwner, MaxSealedOwnerBytes, out sealedOwner), "base64");
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        var reply = await gateway.AskAsync(new PeerPairingProtocol.Confirm(c.AttemptId!, new DevicePake.Proof(a, m1, confirm),
            c.ManagerRemoteAddress!, c.SealedOwner is null ? null : sealedOwner), context.RequestAborted);
        return reply switch
        {
            PeerPairingProtocol.Accepted accepted => TypedResults.Ok(new HandshakeAcceptance(
                Convert.ToBase64String(accepted.Acceptance.M2), Convert.ToBase64String(accepted.Acceptance.TargetConfirm))),
            PeerPairingProtocol.WrongCode wrong => Problems.Forbidden(wrong.AttemptsLeft > 0
                ? $"wrong setup code; {wrong.AttemptsLeft} more wrong code{(wrong.AttemptsLeft == 1 ? "" : "s")} lock pairing"
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
        PairingReplies.Refused { Reason: RefusalReason.InvalidAccount } r =>
            Problems.Invalid(new Dictionary<string, string[]> { ["sealed_owner"] = [r.Message] }),
        PairingReplies.Refused r => Problems.Conflict(r.Message),
        Status.Failure => Problems.Unavailable("the pairing could not be written; try again"),
        _ => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
    };

    private static bool IsFingerprint(string? text) => text is { Length: 64 } && text.All(char.IsAsciiHexDigitLower);

    private static bool IsLinkAddress(string? text) => PeerAddress.IsLinkAddress(text);

    private static bool TryBytes(string? base64, int maxBytes, out byte[] bytes)
    {
        bytes = [];
        if (base64 is null || base64.Length == 0 || base64.Length > (maxBytes + 2) / 3 * 4)
            return false;
        try
        {
            bytes = Convert.FromBase64String(base64);
            return bytes.Length is > 0 && bytes.Length <= maxBytes;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
