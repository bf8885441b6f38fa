using System.Buffers;
using System.Net.WebSockets;
using System.Threading.RateLimiting;
using Akka.Actor;
using Akka.Hosting;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Sync;
using Abpa3.Web.Auth;
using Abpa3.Web.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.IdentityModel.JsonWebTokens;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Web.Sync;

/// <summary>
/// <c>GET /ws</c> (SPEC §6): authenticates the socket, opens a <see cref="SessionActor"/> for it and
/// translates frames to messages and back. Reading and writing are two loops, so a client that stops
/// reading only fills its own outbox.
/// </summary>
public static class SyncSocket
{
    private const int ReceiveChunk = 4096;

    private sealed record Who(string DeviceId, bool IsClientDevice);

    public static IEndpointRouteBuilder MapSyncSocket(this IEndpointRouteBuilder routes)
    {
        routes.Map("/ws", Handle).AllowAnonymous();
        return routes;
    }

    private static async Task<IResult> Handle(
        HttpContext context, DeviceGateway gateway, TokenIssuer tokens, SyncSettings settings, NodeSettings node,
        IRequiredActor<SessionRegistry> registry)
    {
        if (!context.WebSockets.IsWebSocketRequest)
            return Problems.Malformed("This is the WebSocket sync channel; connect with a WebSocket upgrade.");
        var headerKey = DeviceKeyFromHeader(context.Request.Headers.Authorization.ToString());
        var stopping = context.RequestAborted;

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var who = await AuthenticateAsync(socket, headerKey, context, gateway, tokens, settings, stopping);
        if (who is null)
            return Results.Empty;

        var outbox = new SessionOutbox(settings.OutboxCapacity);
        var opened = await registry.ActorRef.Ask<object>(
            new SessionRegistryProtocol.OpenSession(who.DeviceId, who.IsClientDevice, outbox), node.AskTimeout, stopping);
        if (opened is not SessionRegistryProtocol.SessionOpened session)
        {
            await CloseAsync(socket, SessionCloseCodes.Revoked, "device revoked", stopping);
            return Results.Empty;
        }
        try
        {
            var sending = SendLoopAsync(socket, outbox, session.Session, stopping);
            await ReceiveLoopAsync(socket, outbox, session.Session, settings, stopping);
            await sending;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
            // The client went away; its session ends below.
        }
        finally
        {
            session.Session.Tell(PoisonPill.Instance);
        }
        return Results.Empty;
    }

    private static string? DeviceKeyFromHeader(string authorization) =>
        authorization.StartsWith("Device ", StringComparison.Ordinal) ? authorization["Device ".Length..].Trim() : null;

    /// <summary>The header's device key, or the first message (device key or the owner's token) within the auth timeout.</summary>
    private static async Task<Who?> AuthenticateAsync(WebSocket socket, string? headerKey, HttpContext context, DeviceGateway gateway,
        TokenIssuer tokens, SyncSettings settings, CancellationToken stopping)
    {
        if (headerKey is not null)
            return await CheckDeviceKeyAsync(socket, headerKey, gateway, stopping);

        // Cancelling a WebSocket receive aborts the socket, so the deadline races the read instead:
        // the close frame can still be sent while the read is pending.
        var reading = ReadMessageAsync(socket, settings.MaxMessageBytes, stopping);
        if (await Task.WhenAny(reading, Task.Delay(settings.AuthTimeout, stopping)) != reading)
        {
            await CloseAsync(socket, SessionCloseCodes.AuthTimeout, "authenticate within the auth timeout", stopping);
            _ = reading.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed; the client's close ends it
            return null;
        }
        ReadOnlyMemory<byte>? frame;
        try
        {
            frame = await reading;
        }
        catch (MessageTooLargeException)
        {
            await CloseAsync(socket, SessionCloseCodes.TooLarge, "message too large", stopping);
            return null;
        }
        if (frame is null)
            return null;
        var auth = SyncWire.ParseAuth(frame.Value);
        if (auth?.DeviceKey is { } key)
            return await CheckDeviceKeyAsync(socket, key, gateway, stopping);
        if (auth?.AccessToken is { } token)
        {
            var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, tokens.ValidationParameters());
            var role = result.IsValid ? result.ClaimsIdentity.FindFirst(TokenIssuer.RoleClaim)?.Value : null;
            if (role is Roles.Owner or Roles.Admin)
                return new Who("user:" + result.ClaimsIdentity.FindFirst(TokenIssuer.NameClaim)!.Value, IsClientDevice: false);
        }
        await CloseAsync(socket, SessionCloseCodes.Unauthenticated, "authenticate with a device key or an access token", stopping);
        return null;
    }

    private static async Task<Who?> CheckDeviceKeyAsync(WebSocket socket, string key, DeviceGateway gateway, CancellationToken stopping)
    {
        if (PairingSecrets.IsKeyShaped(key))
        {
            var reply = await gateway.AskAsync(new PairingQueries.AuthenticateClient(PairingSecrets.Hash(key)), stopping);
            if (reply is PairingQueries.ClientAuthenticated authenticated)
                return new Who(authenticated.Client.DeviceId, IsClientDevice: true);
            if (reply is PairingQueries.ClientRefused { Revoked: true })
            {
                await CloseAsync(socket, SessionCloseCodes.Revoked, "device revoked", stopping);
                return null;
            }
        }
        await CloseAsync(socket, SessionCloseCodes.Unauthenticated, "unknown device key", stopping);
        return null;
    }

    private static async Task ReceiveLoopAsync(WebSocket socket, SessionOutbox outbox, IActorRef session, SyncSettings settings,
        CancellationToken stopping)
    {
        using var limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = settings.MessageBurst,
            TokensPerPeriod = settings.MessagesPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
        while (true)
        {
            ReadOnlyMemory<byte>? frame;
            try
            {
                frame = await ReadMessageAsync(socket, settings.MaxMessageBytes, stopping);
            }
            catch (MessageTooLargeException)
            {
                outbox.Close(SessionCloseCodes.TooLarge, "message too large");
                return;
            }
            if (frame is null)
            {
                outbox.Close((int)WebSocketCloseStatus.NormalClosure, "bye");
                return;
            }
            using var lease = limiter.AttemptAcquire();
            if (!lease.IsAcquired)
            {
                outbox.Close(SessionCloseCodes.RateLimited, "too many messages");
                return;
            }
            session.Tell(SyncWire.Parse(frame.Value));
        }
    }

    private static async Task SendLoopAsync(WebSocket socket, SessionOutbox outbox, IActorRef session, CancellationToken stopping)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        await foreach (var message in outbox.Reader.ReadAllAsync(stopping))
        {
            if (message is Close close)
            {
                await CloseAsync(socket, close.Code, close.Reason, stopping);
                return;
            }
            await socket.SendAsync(SyncWire.Frame(message, buffer), WebSocketMessageType.Text, true, stopping);
            if (outbox.Reader.Count == 0 && outbox.TakeDrainSignal())
                session.Tell(SessionActor.OutboxDrained.Instance);
        }
        if (outbox.CloseRequested is { } requested)
            await CloseAsync(socket, requested.Code, requested.Reason, stopping);
    }

    private sealed class MessageTooLargeException : Exception;

    /// <summary>One whole text message, or null when the client closed. Binary frames are answered as malformed.</summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadMessageAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        var chunk = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        try
        {
            ArrayBufferWriter<byte>? whole = null;
            while (true)
            {
                var result = await socket.ReceiveAsync(chunk.AsMemory(), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                    return null;
                if (result.EndOfMessage && whole is null)
                    return result.MessageType == WebSocketMessageType.Text ? chunk.AsSpan(0, result.Count).ToArray() : "[]"u8.ToArray();
                whole ??= new ArrayBufferWriter<byte>(ReceiveChunk * 2);
                if (whole.WrittenCount + result.Count > maxBytes)
                    throw new MessageTooLargeException();
                whole.Write(chunk.AsSpan(0, result.Count));
                if (result.EndOfMessage)
                    return result.MessageType == WebSocketMessageType.Text ? whole.WrittenMemory : "[]"u8.ToArray();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private static async Task CloseAsync(WebSocket socket, int code, string reason, CancellationToken cancellationToken)
    {
        if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, cancellationToken);
    }
}
