using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Configuration;
using Abpa3.Actors.Configuration;
using Abpa3.Client;
using Abpa3.Web;

namespace Abpa3.Host.Demo;

/// <summary>
/// One node of the demo mesh, started in this process on loopback, and an HTTP client for its edge pinned to
/// the node's own certificate: the demo sets the mesh up through the same API an owner would use.
/// </summary>
public sealed class DemoNode : IAsyncDisposable
{
    private DemoNode(string key, string role, MeshNode node)
    {
        Key = key;
        Role = role;
        Node = node;
        Http = CertificatePin.HttpClient(node.HttpUrl, node.Identity.CertSha256);
    }

    /// <summary><c>manager</c>, <c>sensor-1</c>, …: the node's directory under the demo's and its label in the output.</summary>
    public string Key { get; }

    /// <summary>What the node is in the mesh: <c>manager</c> or <c>sensor</c>.</summary>
    public string Role { get; }

    public MeshNode Node { get; }
    public HttpClient Http { get; }
    public string DeviceId => Node.Identity.DeviceId.Value;
    public string Url => Node.HttpUrl.ToString().TrimEnd('/');

    /// <summary>How the manager addresses this node when pairing it (<c>target_ip</c>).</summary>
    public string PairingAddress => $"{Node.HttpUrl.Host}:{Node.HttpUrl.Port}";

    public DemoPorts Ports => new(Node.HttpUrl.Port, int.Parse(Node.RemoteAddress[(Node.RemoteAddress.LastIndexOf(':') + 1)..]));

    /// <summary>
    /// Starts the node on the ports it is asked for, or on free ones when those are taken (said on
    /// <paramref name="notes"/>).
    /// </summary>
    public static async Task<DemoNode> StartAsync(string key, string role, string name, string dataDir, Config baseConfig,
        DemoPorts wanted, TextWriter notes, CancellationToken cancellationToken)
    {
        var ports = wanted;
        var busy = new[] { wanted.Http, wanted.Remote }.Where(p => !DemoFiles.IsFree(p)).ToList();
        if (busy.Count > 0)
        {
            await notes.WriteLineAsync($"  {key}: port {string.Join(" and ", busy)} in use, taking a free one instead");
            ports = new DemoPorts(busy.Contains(wanted.Http) ? 0 : wanted.Http, busy.Contains(wanted.Remote) ? 0 : wanted.Remote);
        }
        try
        {
            return await StartOnceAsync(key, role, name, dataDir, baseConfig, ports, cancellationToken);
        }
        catch (Exception e) when (ports != DemoPorts.Free && IsAddressInUse(e))
        {
            // Taken between the check and the bind: free ports still make a demo.
            await notes.WriteLineAsync($"  {key}: port {ports.Http} or {ports.Remote} was taken meanwhile, taking free ones instead");
            return await StartOnceAsync(key, role, name, dataDir, baseConfig, DemoPorts.Free, cancellationToken);
        }
    }

    private static bool IsAddressInUse(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse }
                || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }

    private static async Task<DemoNode> StartOnceAsync(string key, string role, string name, string dataDir, Config baseConfig,
        DemoPorts ports, CancellationToken cancellationToken)
    {
        var config = baseConfig.WithOverrides(new Dictionary<string, string>
        {
            ["abpa3.node.data-dir"] = dataDir,
            ["abpa3.node.name"] = name,
            ["abpa3.node.bind"] = "127.0.0.1",
            ["abpa3.node.http-port"] = ports.Http.ToString(),
            ["abpa3.node.remote-port"] = ports.Remote.ToString(),
        });
        MeshNode? node = null;
        try
        {
            node = MeshNode.Create(config, logging: logging => NodeLog.AddTo(logging, key));
            await node.StartAsync(cancellationToken);
            return new DemoNode(key, role, node);
        }
        catch (Exception e)
        {
            if (node is not null)
                await node.DisposeAsync();
            if (e is OperationCanceledException || IsAddressInUse(e))
                throw;
            throw new DemoException($"{key} did not start: {e.Message}");
        }
    }

    private const int BusyAttempts = 5;

    public Task<JsonObject> GetAsync(string path, string? token, string doing, CancellationToken cancellationToken) =>
        SendJsonAsync(HttpMethod.Get, path, null, token, doing, cancellationToken);

    public Task<JsonObject> PostAsync(string path, object body, string? token, string doing, CancellationToken cancellationToken) =>
        SendJsonAsync(HttpMethod.Post, path, body, token, doing, cancellationToken);

    /// <summary>A GET whose answer is bytes, not JSON (a scan's result).</summary>
    public async Task<byte[]> GetBytesAsync(string path, string? token, string doing, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Get, path, null, token, doing, cancellationToken)).Body;

    private async Task<JsonObject> SendJsonAsync(HttpMethod method, string path, object? body, string? token, string doing,
        CancellationToken cancellationToken)
    {
        var (status, answer) = await SendAsync(method, path, body, token, doing, cancellationToken);
        return ParseObject(answer) ?? throw new DemoException($"{doing}: {Key} answered {(int)status} {status} without a JSON object", (int)status);
    }

    /// <summary>
    /// One API call; anything but a success becomes a <see cref="DemoException"/> saying what was being done and what
    /// the node answered. A 503 (the node did not answer in time, as on a loaded machine) is tried again a few times;
    /// every call the demo makes may be repeated (pairing retries are idempotent, a repeated setup answers 409).
    /// </summary>
    private async Task<(HttpStatusCode Status, byte[] Body)> SendAsync(HttpMethod method, string path, object? body, string? token,
        string doing, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            if (token is not null)
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            HttpResponseMessage response;
            try
            {
                response = await Http.SendAsync(request, cancellationToken);
            }
            catch (HttpRequestException e)
            {
                throw new DemoException($"{doing}: {Key} at {Url} did not answer ({e.Message})");
            }
            using (response)
            {
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < BusyAttempts)
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                    continue;
                }
                var answer = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                if (response.IsSuccessStatusCode)
                    return (response.StatusCode, answer);
                throw new DemoException($"{doing}: {Key} answered {(int)response.StatusCode} {Describe(response.StatusCode, ParseObject(answer))}",
                    (int)response.StatusCode);
            }
        }
    }

    private static JsonObject? ParseObject(byte[] text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Describe(HttpStatusCode status, JsonObject? problem)
    {
        var title = problem?["title"]?.GetValue<string>() ?? status.ToString();
        return problem?["detail"]?.GetValue<string>() is { Length: > 0 } detail ? $"{title}: {detail}" : title;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Node.DisposeAsync();
    }
}
