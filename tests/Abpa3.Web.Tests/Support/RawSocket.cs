using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Abpa3.Web.Tests.Support;

/// <summary>A bare WebSocket to a node's <c>/ws</c>, for saying exactly what a test wants on the wire.</summary>
public sealed class RawSocket : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly ClientWebSocket _socket = new();

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public static async Task<RawSocket> ConnectAsync(TestNode node, string? deviceKey = null)
    {
        var raw = new RawSocket();
        if (deviceKey is not null)
            raw._socket.Options.SetRequestHeader("Authorization", "Device " + deviceKey);
        raw._socket.Options.RemoteCertificateValidationCallback = Abpa3.Client.CertificatePin.For(node.Node.Identity.CertSha256);
        var uri = new UriBuilder(node.Node.HttpUrl) { Scheme = node.Node.HttpUrl.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;
        await raw._socket.ConnectAsync(uri, CancellationToken.None);
        return raw;
    }

    public Task SendAsync(string text) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    public Task SendJsonAsync(object message) => SendAsync(System.Text.Json.JsonSerializer.Serialize(message));

    /// <summary>The next message, or null if the node closed the socket.</summary>
    public async Task<JsonObject?> ReceiveAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? Patience);
        var buffer = new byte[256 * 1024];
        var length = 0;
        while (true)
        {
            var result = await _socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), cancel.Token);
            if (result.MessageType == WebSocketMessageType.Close)
                return null;
            length += result.Count;
            if (result.EndOfMessage)
                return JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, length))!.AsObject();
        }
    }

    /// <summary>Reads until a message of this type arrives (skipping others).</summary>
    public async Task<JsonObject> ReceiveTypeAsync(string type)
    {
        while (true)
        {
            var message = await ReceiveAsync() ?? throw new InvalidOperationException($"closed ({CloseStatus}) while waiting for {type}");
            if (message["type"]!.GetValue<string>() == type)
                return message;
        }
    }

    /// <summary>Reads until the node closes, and returns the close code.</summary>
    public async Task<int> ExpectCloseAsync(TimeSpan? timeout = null)
    {
        while (await ReceiveAsync(timeout) is not null) { }
        return (int)_socket.CloseStatus!;
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        await Task.CompletedTask;
    }
}
