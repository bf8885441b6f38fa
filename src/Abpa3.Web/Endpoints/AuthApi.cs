using System.Security.Claims;
using System.Text.Json.Serialization;
using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;
using Abpa3.Web.Auth;
using Abpa3.Web.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Abpa3.Web.Endpoints;

/// <summary><c>/api/auth</c>: claiming the device with its setup code, logging in, and the owner's accounts.</summary>
public static class AuthApi
{
    public sealed record SetupRequest(
        [property: JsonPropertyName("username")] string? Username,
        [property: JsonPropertyName("password")] string? Password,
        [property: JsonPropertyName("setup_code")] string? SetupCode);

    public sealed record SetupResponse(
        [property: JsonPropertyName("message")] string Message,
        [property: JsonPropertyName("device")] DevicesApi.DeviceInfoResponse Device);

    public sealed record Credentials(
        [property: JsonPropertyName("username")] string? Username,
        [property: JsonPropertyName("password")] string? Password);

    public sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string AccessToken,
        [property: JsonPropertyName("token_type")] string TokenType,
        [property: JsonPropertyName("expires_in")] int ExpiresIn);

    public sealed record AccountResponse(
        [property: JsonPropertyName("username")] string Username,
        [property: JsonPropertyName("role")] string Role);

    public static IEndpointRouteBuilder MapAuth(this IEndpointRouteBuilder routes)
    {
        var auth = routes.MapGroup("/api/auth");
        auth.MapPost("/setup", Setup).AllowAnonymous().RequireRateLimiting(RateLimits.Setup);
        auth.MapPost("/login", Login).AllowAnonymous().RequireRateLimiting(RateLimits.Login);
        auth.MapGet("/me", Me).RequireAuthorization(Roles.OwnerOrAdminPolicy);
        auth.MapPost("/users", AddAdmin).RequireAuthorization(Roles.OwnerPolicy);
        return routes;
    }

    private static async Task<IResult> Setup(HttpContext context, DeviceGateway gateway, Passwords passwords, EdgeSettings settings)
    {
        var body = await JsonBody.ReadAsync<SetupRequest>(context.Request, settings.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var request = body.Value!;
        var rules = AccountRules(request.Username, request.Password, settings)
            .Require("setup_code", request.SetupCode is { Length: > 0 and <= 64 }, "the setup code shown on the device's console is required");
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        // The code is checked before the (deliberately slow) password hash, so wrong guesses cost the node nothing.
        var check = await gateway.AskAsync(new DeviceMessages.CheckSetupCode(request.SetupCode), context.RequestAborted);
        if (check is not DeviceMessages.SetupCodeAccepted)
            return Refusal(check);
        var reply = await gateway.AskAsync(
            new DeviceMessages.SetupOwner(request.Username!, await passwords.HashAsync(request.Password!, context.RequestAborted), request.SetupCode),
            context.RequestAborted);
        if (reply is not PairingReplies.AccountCreated)
            return Refusal(reply);

        var info = (DeviceMessages.DeviceInfo)await gateway.AskAsync(DeviceMessages.GetDeviceInfo.Instance, context.RequestAborted);
        return TypedResults.Ok(new SetupResponse("Setup complete", DevicesApi.DeviceInfoResponse.From(info, DevicesApi.LocalAddress(context))));
    }

    private static async Task<IResult> Login(
        HttpContext context, DeviceGateway gateway, Passwords passwords, TokenIssuer tokens, EdgeSettings settings)
    {
        var body = await JsonBody.ReadAsync<Credentials>(context.Request, settings.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var request = body.Value!;
        var rules = new FieldRules()
            .Require("username", request.Username is { Length: > 0 and <= UserAccount.MaxUsernameLength }, "a username is required")
            .Require("password", request.Password is { Length: > 0 } p && p.Length <= settings.MaxPasswordLength, "a password is required");
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        var reply = await gateway.AskAsync(new PairingQueries.GetUser(request.Username!), context.RequestAborted);
        var account = (reply as PairingQueries.UserFound)?.Account;
        if (!await passwords.VerifyAsync(account?.PasswordHash, request.Password!, context.RequestAborted) || account is null)
            return Problems.Unauthenticated("Wrong username or password.");
        return TypedResults.Ok(new TokenResponse(tokens.Issue(account), "bearer", (int)tokens.Lifetime.TotalSeconds));
    }

    private static IResult Me(ClaimsPrincipal user) =>
        TypedResults.Ok(new AccountResponse(
            user.FindFirstValue(TokenIssuer.NameClaim) ?? "",
            user.FindFirstValue(TokenIssuer.RoleClaim) ?? ""));

    private static async Task<IResult> AddAdmin(HttpContext context, DeviceGateway gateway, Passwords passwords, EdgeSettings settings)
    {
        var body = await JsonBody.ReadAsync<Credentials>(context.Request, settings.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var request = body.Value!;
        var rules = AccountRules(request.Username, request.Password, settings);
        if (!rules.IsValid)
            return Problems.Invalid(rules.Errors);

        var reply = await gateway.AskAsync(
            new PairingCommands.AddAdmin(request.Username!, await passwords.HashAsync(request.Password!, context.RequestAborted)), context.RequestAborted);
        return reply is PairingReplies.AccountCreated created
            ? TypedResults.Created($"/api/auth/users/{created.Account.Username}",
                new AccountResponse(created.Account.Username, Roles.ClaimValue(created.Account.Role)))
            : Refusal(reply);
    }

    private static FieldRules AccountRules(string? username, string? password, EdgeSettings settings) =>
        new FieldRules()
            .Require("username", UserAccount.IsValidUsername(username), "1–64 of letters, digits, '.', '_' and '-'")
            .Require("password", password is { } p && p.Length >= settings.MinPasswordLength && p.Length <= settings.MaxPasswordLength,
                $"{settings.MinPasswordLength}–{settings.MaxPasswordLength} characters");

    private static IResult Refusal(object reply) => reply switch
    {
        PairingReplies.Refused { Reason: RefusalReason.WrongSetupCode or RefusalReason.SetupLocked } r => Problems.Forbidden(r.Message),
        PairingReplies.Refused { Reason: RefusalReason.AlreadyConfigured or RefusalReason.NotConfigured or RefusalReason.UsernameTaken } r =>
            Problems.Conflict(r.Message),
        PairingReplies.Refused { Reason: RefusalReason.InvalidAccount } r =>
            Problems.Invalid(new Dictionary<string, string[]> { ["username"] = [r.Message] }),
        _ => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
    };
}
