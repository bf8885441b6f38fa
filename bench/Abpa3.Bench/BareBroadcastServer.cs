using System.Net;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Abpa3.Bench;

/// <summary>
/// The baseline for fan-out: the least a Kestrel WebSocket server can do to broadcast. Every text
/// message from any client goes to every client through a per-client bounded channel (the same
/// shape as the node's outboxes, without auth, topics, sequence numbers or actors), and the sender
/// gets an ack. Run as its own process, like the node.
/// </summary>
public static class BareBroadcastServer
{
    private static readonly byte[] Ack = """{"type":"ack"}"""u8.ToArray();

    public static async Task<int> RunAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.UseWebSockets();
        var clients = new System.Collections.Concurrent.ConcurrentDictionary<Channel<byte[]>, bool>();
        app.Map("/ws", async (HttpContext context) =>
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            var outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(256) { FullMode = BoundedChannelFullMode.DropWrite });
            clients[outbox] = true;
            var sending = Task.Run(async () =>
            {
                await foreach (var message in outbox.Reader.ReadAllAsync())
                    await socket.SendAsync(message, WebSocketMessageType.Text, true, CancellationToken.None);
            });
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
                    if (result.MessageType == WebSocketMessageType.Close)
                        break;
                    var message = buffer.AsSpan(0, result.Count).ToArray();
                    foreach (var client in clients.Keys)
                        client.Writer.TryWrite(message);
                    outbox.Writer.TryWrite(Ack);
                }
            }
            catch (WebSocketException) { }
            clients.TryRemove(outbox, out _);
            outbox.Writer.TryComplete();
            await sending;
        });
        await app.StartAsync();
        Console.WriteLine("bare server ready");
        await app.WaitForShutdownAsync();
        return 0;
    }
}
