using System.Net.Http.Json;
using System.Net.Security;
using System.Security.Authentication;
using System.Text.Json;
using System.Text.Json.Serialization;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Remoting;
using Abpa3.Web.Endpoints;

namespace Abpa3.Web.Peers;

/// <summary>Why a call to another device did not produce an answer.</summary>
public sealed class DeviceUnreachableException(string message, bool timedOut, Exception? inner = null) : Exception(message, inner)
{
    public bool TimedOut { get; } = timedOut;
}

/// <summary>An answer from another device that is not what the protocol expects.</summary>
public sealed class DeviceProtocolException(string message, int? status = null, string? detail = null) : Exception(message)
{
    public int? Status { get; } = status;
    public string? Detail { get; } = detail;
}

/// <summary>
/// This node calling another device's edge: probing it, running the pairing handshake, and (once paired)
/// signed requests. Before pairing any certificate is accepted and its fingerprint recorded, because the key
/// exchange binds it; after pairing only the pinned certificate is accepted.
/// </summary>
public sealed class DeviceHttpClient(PeerLinkSettings settings, NodeIdentity identity, TimeProvider clock, bool tls)
{
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private const int MaxAnswerBytes = 256 * 1024;

    public bool Tls => tls;

    /// <summary>The device's public description and the fingerprint of the certificate it presented (null over plain HTTP).</summary>
    public async Task<(DevicesApi.DeviceInfoResponse Info, string? PresentedCertSha256)> ProbeAsync(DeviceAddress address, CancellationToken cancellationToken)
    {
        var (response, presented) = await SendAsync(address, HttpMethod.Get, "/api/devices/info", null, null, null, cancellationToken);
        using (response)
        {
            var info = await ReadAsync<DevicesApi.DeviceInfoResponse>(response, cancellationToken);
            if (info is not { DeviceId.Length: > 0, CertSha256.Length: 64 })
                throw new DeviceProtocolException("the address answered, but not as a mesh device");
            return (info, presented);
        }
    }

    /// <summary>POSTs a JSON body and reads a JSON answer; a problem answer becomes a <see cref="DeviceProtocolException"/> with its status.</summary>
    public async Task<T> PostAsync<T>(DeviceAddress address, string path, object body, string? pinnedCertSha256, CancellationToken cancellationToken)
        where T : class
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), Json);
        var (response, _) = await SendAsync(address, HttpMethod.Post, path, bytes, pinnedCertSha256, null, cancellationToken);
        using (response)
            return await ReadAsync<T>(response, cancellationToken) ?? throw new DeviceProtocolException("the device sent an empty answer");
    }

    /// <summary>A request signed with the pair's key (SPEC §5 device headers), to a paired device's pinned certificate.</summary>
    public async Task<HttpResponseMessage> SendSignedAsync(Uri baseUri, string pinnedCertSha256, PairKeys keys, HttpMethod method, string path,
        byte[]? body, CancellationToken cancellationToken)
    {
        var headers = DeviceRequestSignature.Headers(keys, identity.DeviceId.Value, method.Method, path, body ?? [], clock);
        var address = new DeviceAddress(baseUri.Host.Trim('[', ']'), baseUri.Port);
        var (response, _) = await SendAsync(address, method, path, body, pinnedCertSha256, headers, cancellationToken);
        return response;
    }

    private async Task<(HttpResponseMessage Response, string? Presented)> SendAsync(DeviceAddress address, HttpMethod method, string path,
        byte[]? body, string? pinnedCertSha256, IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
    {
        string? presented = null;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = settings.ProbeTimeout,
            AllowAutoRedirect = false,
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                {
                    presented = certificate is null ? null : NodeIdentity.Fingerprint(certificate);
                    return presented is not null && (pinnedCertSha256 is null || presented == pinnedCertSha256);
                },
            },
        };
        // Another device answers with small JSON; a bigger answer is refused rather than buffered.
        using var client = new HttpClient(handler, disposeHandler: true) { Timeout = settings.ProbeTimeout, MaxResponseContentBufferSize = MaxAnswerBytes };
        using var request = new HttpRequestMessage(method, new Uri(address.BaseUri(tls), path));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
            request.Headers.TryAddWithoutValidation(name, value);
        try
        {
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            return (response, presented);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DeviceUnreachableException($"no answer from {address} within {settings.ProbeTimeout.TotalSeconds:0.#} s", timedOut: true, e);
        }
        catch (HttpRequestException e) when (e.InnerException is AuthenticationException)
        {
            throw new DeviceUnreachableException(pinnedCertSha256 is null
                ? $"{address} did not complete a TLS handshake (is it a mesh device{(tls ? "" : " serving plain HTTP")}?)"
                : $"{address} presented a certificate other than the paired device's", timedOut: false, e);
        }
        catch (HttpRequestException e)
        {
            throw new DeviceUnreachableException($"cannot reach {address}: {e.HttpRequestError switch
            {
                HttpRequestError.ConnectionError => "connection refused or host unreachable",
                HttpRequestError.NameResolutionError => "unknown host name",
                HttpRequestError.SecureConnectionError => "TLS handshake failed",
                _ => e.Message,
            }}", timedOut: false, e);
        }
    }

    private static async Task<T?> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken) where T : class
    {
        if (!response.IsSuccessStatusCode)
        {
            string? detail = null;
            try
            {
                var problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
                detail = problem.ValueKind == JsonValueKind.Object && problem.TryGetProperty("detail", out var d) ? d.GetString() : null;
            }
            catch (Exception e) when (e is JsonException or NotSupportedException) { }
            throw new DeviceProtocolException($"the device answered {(int)response.StatusCode}{(detail is null ? "" : $": {detail}")}",
                (int)response.StatusCode, detail);
        }
        try
        {
            return await response.Content.ReadFromJsonAsync<T>(cancellationToken);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException)
        {
            throw new DeviceProtocolException("the device's answer is not the expected JSON");
        }
    }
}
