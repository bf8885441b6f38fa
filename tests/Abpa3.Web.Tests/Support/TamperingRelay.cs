using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Abpa3.Web.Tests.Support;

/// <summary>
/// The attacker in the middle of device pairing (THREATS T4): an HTTP relay on loopback between the manager
/// and the target that records every byte both ways and may rewrite JSON requests and answers.
/// </summary>
public sealed class TamperingRelay : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _forward;

    private TamperingRelay(WebApplication app, HttpClient forward)
    {
        _app = app;
        _forward = forward;
    }

    /// <summary>Everything that crossed the relay, requests and answers.</summary>
    public ConcurrentQueue<byte[]> Captured { get; } = new();

    /// <summary>host:port to give the manager instead of the target's.</summary>
    public string Address { get; private set; } = "";

    public static async Task<TamperingRelay> StartAsync(Uri target,
        Func<string, JsonObject, JsonObject>? onRequest = null, Func<string, JsonObject, JsonObject>? onAnswer = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var relay = new TamperingRelay(app, new HttpClient { BaseAddress = target });
        app.Run(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var requestBytes = Rewrite(body.ToArray(), context.Request.Path, onRequest);
            relay.Captured.Enqueue(requestBytes);
            using var forwarded = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
            if (requestBytes.Length > 0)
                forwarded.Content = new ByteArrayContent(requestBytes) { Headers = { ContentType = new("application/json") } };
            using var answer = await relay._forward.SendAsync(forwarded);
            var answerBytes = Rewrite(await answer.Content.ReadAsByteArrayAsync(), context.Request.Path, onAnswer);
            relay.Captured.Enqueue(answerBytes);
            context.Response.StatusCode = (int)answer.StatusCode;
            context.Response.ContentType = answer.Content.Headers.ContentType?.ToString();
            await context.Response.Body.WriteAsync(answerBytes);
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        relay.Address = $"127.0.0.1:{address.Port}";
        return relay;
    }

    private static byte[] Rewrite(byte[] bytes, string path, Func<string, JsonObject, JsonObject>? change)
    {
        if (change is null || bytes.Length == 0 || JsonNode.Parse(bytes) is not JsonObject json)
            return bytes;
        return Encoding.UTF8.GetBytes(change(path, json).ToJsonString());
    }

    public byte[] AllBytes() => Captured.SelectMany(b => b).ToArray();

    public async ValueTask DisposeAsync()
    {
        _forward.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
