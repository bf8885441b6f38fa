using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Abpa3.Client;

namespace Abpa3.Host.Demo;

/// <summary>
/// The manager's <c>scans</c> topic on its sync channel (<c>/ws</c>, SPEC §6), as a browser signed in as the
/// owner reads it: the access token in the first message, then a subscription. Nothing is replayed: the feed
/// is opened before the scan starts, so it sees the scan's every change from the first.
/// </summary>
public sealed class ScanFeed : IAsyncDisposable
{
    /// <summary>What the feed delivers: a change of some scan, or word that changes were lost (fetch the state instead).</summary>
    public abstract record Item
    {
        /// <summary>The <c>data</c> of one <c>scans</c> event: <c>change</c>, <c>scan_id</c>, <c>state</c>, <c>segments_done</c>, ….</summary>
        public sealed record Change(JsonObject Data) : Item;

        /// <summary><c>resync_required</c>: this client missed events of the topic.</summary>
        public sealed record Gap : Item;
    }

    private static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(10);
    private readonly ClientWebSocket _socket;
    private readonly Channel<Item> _items = Channel.CreateUnbounded<Item>();
    private readonly CancellationTokenSource _stop = new();
    private Task _reading = Task.CompletedTask;

    private ScanFeed(ClientWebSocket socket) => _socket = socket;

    /// <summary>Completes when the socket closes; <see cref="Ended"/> then says why.</summary>
    public ChannelReader<Item> Items => _items.Reader;

    public string Ended { get; private set; } = "";

    /// <summary>Connects to the node's <c>/ws</c> (pinned to its certificate), signs in with the token and subscribes to <c>scans</c>.</summary>
    public static async Task<ScanFeed> OpenAsync(DemoNode node, string accessToken, CancellationToken cancellationToken)
    {
        var uri = new UriBuilder(node.Node.HttpUrl) { Scheme = node.Node.HttpUrl.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;
        var socket = new ClientWebSocket();
        socket.Options.RemoteCertificateValidationCallback = CertificatePin.For(node.Node.Identity.CertSha256);
        var feed = new ScanFeed(socket);
        try
        {
            using var handshake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            handshake.CancelAfter(HandshakeTimeout);
            await socket.ConnectAsync(uri, handshake.Token);
            await feed.SendAsync(new { type = "auth", access_token = accessToken }, handshake.Token);
            await feed.ExpectAsync("welcome", handshake.Token);
            await feed.SendAsync(new { type = "subscribe", topics = new[] { "scans" } }, handshake.Token);
            await feed.ExpectAsync("subscribed", handshake.Token);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        feed._reading = feed.ReadAsync();
        return feed;
    }

    private async Task ExpectAsync(string type, CancellationToken cancellationToken)
    {
        var message = await ReceiveAsync(cancellationToken)
                      ?? throw new WebSocketException($"the node closed the socket ({_socket.CloseStatus} {_socket.CloseStatusDescription}) before '{type}'");
        if (message["type"]?.GetValue<string>() is var got && got != type)
            throw new WebSocketException($"the node answered '{got}' ({message["message"]}) instead of '{type}'");
    }

    private async Task ReadAsync()
    {
        try
        {
            while (await ReceiveAsync(_stop.Token) is { } message)
            {
                var type = message["type"]?.GetValue<string>();
                if (type == "event" && message["topic"]?.GetValue<string>() == "scans" && message["data"] is JsonObject data)
                    _items.Writer.TryWrite(new Item.Change(data));
                else if (type == "resync_required")
                    _items.Writer.TryWrite(new Item.Gap());
            }
            Ended = $"the node closed it ({(int?)_socket.CloseStatus} {_socket.CloseStatusDescription})";
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            Ended = e.Message;
        }
        finally
        {
            _items.Writer.TryComplete();
        }
    }

    /// <summary>The next whole message as JSON, or null once the node closed the socket.</summary>
    private async Task<JsonObject?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        var length = 0;
        ValueWebSocketReceiveResult result;
        do
        {
            if (length == buffer.Length)
                Array.Resize(ref buffer, buffer.Length * 2);
            result = await _socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
                return null;
            length += result.Count;
        } while (!result.EndOfMessage);
        return JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, length)) as JsonObject
               ?? throw new JsonException("the node sent something other than a JSON object");
    }

    private Task SendAsync(object message, CancellationToken cancellationToken) =>
        _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, cancellationToken);

    /// <summary>Closes the socket (briefly waiting for the node's reply) and stops reading.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", grace.Token);
                await _reading.WaitAsync(grace.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or TimeoutException)
            {
            }
        }
        await _stop.CancelAsync();
        _socket.Abort();
        await _reading;
        _socket.Dispose();
        _stop.Dispose();
    }
}
