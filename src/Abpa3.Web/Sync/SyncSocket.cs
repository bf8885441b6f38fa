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
using Microsoft.Extensions.Hosting;
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

    /// <param name="ExpiresAt">For a browser: when its access token expires, and with it the session.</param>
    private sealed record Who(string DeviceId, bool IsClientDevice, DateTimeOffset? ExpiresAt = null);

    public static IEndpointRouteBuilder MapSyncSocket(this IEndpointRouteBuilder routes)
    {
        routes.Map("/ws", Handle).AllowAnonymous().RequireRateLimiting(RateLimits.Socket);
        return routes;
    }

    private static async Task<IResult> Handle(
        HttpContext context, DeviceGateway gateway, TokenIssuer tokens, SyncSettings settings, NodeSettings node,
        IRequiredActor<SessionRegistry> registry, TimeProvider clock, IHostApplicationLifetime lifetime)
    {
        if (!context.WebSockets.IsWebSocketRequest)
            return Problems.Malformed("This is the WebSocket sync channel; connect with a WebSocket upgrade.");
        var headerKey = DeviceKeyFromHeader(context.Request.Headers.Authorization.ToString());
        var stopping = context.RequestAborted;

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        Who? who;
        try
        {
            who = await AuthenticateAsync(socket, headerKey, gateway, tokens, settings, stopping);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or AskTimeoutException or NodeBusyException)
        {
            socket.Abort();
            return Results.Empty;
        }
        if (who is null)
            return Results.Empty;

        var outbox = settings.NewOutbox();
        // Not tied to the request: a session the registry opens must always be stopped below.
        var opened = await registry.ActorRef.Ask<object>(
            new SessionRegistryProtocol.OpenSession(who.DeviceId, who.IsClientDevice, outbox), node.AskTimeout, CancellationToken.None);
        if (opened is SessionRegistryProtocol.SessionRefused refused)
        {
            await CloseAsync(socket, refused.CloseCode, refused.Reason);
            return Results.Empty;
        }
        var session = ((SessionRegistryProtocol.SessionOpened)opened).Session;
        try
        {
            using var tokenExpiry = who.ExpiresAt is { } expires ? CloseAt(outbox, expires - clock.GetUtcNow()) : null;
            // A stopping node says goodbye (1001) at once: an open socket must not hold the shutdown for the host's
            // whole shutdown timeout, and the client knows to reconnect rather than give up.
            using var nodeStopping = lifetime.ApplicationStopping.Register(() => outbox.Close(SessionCloseCodes.GoingAway, "node stopping"));
            var sending = SendLoopAsync(socket, outbox, session, stopping);
            var receiving = ReceiveLoopAsync(socket, outbox, session, settings, stopping);
            await Task.WhenAny(sending, receiving);
            // Whoever ended first, the socket ends now: the close code the session asked for (or a normal
            // close), a short wait for the client's reply, then abort. A client that stopped reading
            // cannot hold the node's side open.
            var close = outbox.CloseRequested ?? new Close((int)WebSocketCloseStatus.NormalClosure, "bye");
            await CloseAsync(socket, close.Code, close.Reason);
            if (receiving.IsCompleted)
                await DrainUntilClosedAsync(socket); // unread bytes at abort would reset the connection before the close frame is read
            else
                await Task.WhenAny(receiving, Task.Delay(CloseGrace, CancellationToken.None));
            socket.Abort();
            await Quietly(sending);
            await Quietly(receiving);
        }
        finally
        {
            session.Tell(PoisonPill.Instance);
        }
        return Results.Empty;
    }

    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(2);

    /// <summary>Reads and discards what the client still sends until its close frame (or the grace period) arrives.</summary>
    private static async Task DrainUntilClosedAsync(WebSocket socket)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(ReceiveChunk);
        using var grace = new CancellationTokenSource(CloseGrace);
        try
        {
            while (socket.State is WebSocketState.Open or WebSocketState.CloseSent
                   && (await socket.ReceiveAsync(scratch.AsMemory(), grace.Token)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Closes a browser's session when its access token expires: it must log in again. Dispose to cancel.</summary>
    private static CancellationTokenSource CloseAt(SessionOutbox outbox, TimeSpan remaining)
    {
        var timer = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        timer.Token.Register(() => outbox.Close(SessionCloseCodes.Unauthenticated, "access token expired"));
        return timer;
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The socket is gone; nothing is left to tell the client.
        }
    }

    private static string? DeviceKeyFromHeader(string authorization) =>
        authorization.StartsWith("Device ", StringComparison.Ordinal) ? authorization["Device ".Length..].Trim() : null;

    /// <summary>The header's device key, or the first message (device key or the owner's token) within the auth timeout.</summary>
    private static async Task<Who?> AuthenticateAsync(WebSocket socket, string? headerKey, DeviceGateway gateway,
        TokenIssuer tokens, SyncSettings settings, CancellationToken stopping)
    {
        if (headerKey is not null)
            return await CheckDeviceKeyAsync(socket, headerKey, gateway, stopping);

        // Cancelling a WebSocket receive aborts the socket, so the deadline races the read instead:
        // the close frame can still be sent while the read is pending.
        var reading = ReadMessageAsync(socket, settings.MaxMessageBytes, stopping);
        if (await Task.WhenAny(reading, Task.Delay(settings.AuthTimeout, stopping)) != reading)
        {
            await CloseAsync(socket, SessionCloseCodes.AuthTimeout, "authenticate within the auth timeout");
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
            await CloseAsync(socket, SessionCloseCodes.TooLarge, "message too large");
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
                return new Who("user:" + result.ClaimsIdentity.FindFirst(TokenIssuer.NameClaim)!.Value, IsClientDevice: false,
                    new DateTimeOffset(result.SecurityToken.ValidTo, TimeSpan.Zero));
        }
        await CloseAsync(socket, SessionCloseCodes.Unauthenticated, "authenticate with a device key or an access token");
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
                await CloseAsync(socket, SessionCloseCodes.Revoked, "device revoked");
                return null;
            }
        }
        await CloseAsync(socket, SessionCloseCodes.Unauthenticated, "unknown device key");
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
            if (outbox.CloseRequested is not null)
                return; // closing: what the client still says is not read
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
        using var sendingUntil = CancellationTokenSource.CreateLinkedTokenSource(stopping, outbox.Closing);
        var buffer = new ArrayBufferWriter<byte>(256);
        try
        {
            // A close stops the loop at once: the backlog is dropped, the close frame goes next.
            await foreach (var message in outbox.ReadAllAsync(sendingUntil.Token))
            {
                await socket.SendAsync(SyncWire.Frame(message, buffer), WebSocketMessageType.Text, true, stopping);
                if (outbox.IsEmpty && outbox.TakeDrainSignal())
                    session.Tell(SessionActor.OutboxDrained.Instance);
            }
        }
        catch (OperationCanceledException) when (outbox.Closing.IsCancellationRequested)
        {
        }
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

    /// <summary>Sends the close frame, giving up (the caller aborts) if the client does not take it in time.</summary>
    private static async Task CloseAsync(WebSocket socket, int code, string reason)
    {
        if (socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
            return;
        using var grace = new CancellationTokenSource(CloseGrace);
        await Quietly(socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, grace.Token));
    }
}
