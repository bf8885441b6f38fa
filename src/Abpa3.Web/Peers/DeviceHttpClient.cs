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
    private readonly PeerLinkSettings _settings = settings;
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
    private const int MaxAnswerBytes = 256 * 1024;

    public bool Tls => tls;

    /// <summary>
    /// A conversation with one device over one kept-alive connection (a pairing is four requests). Without a
    /// pin, the first certificate the device presents is recorded and every later connection of the
    /// conversation must present the same one.
    /// </summary>
    public Conversation Open(DeviceAddress address, string? pinnedCertSha256 = null) => new(this, address, pinnedCertSha256);

    /// <summary>The device's public description and the fingerprint of the certificate it presented (null over plain HTTP).</summary>
    public async Task<(DevicesApi.DeviceInfoResponse Info, string? PresentedCertSha256)> ProbeAsync(DeviceAddress address, CancellationToken cancellationToken)
    {
        using var conversation = Open(address);
        return (await conversation.ProbeAsync(cancellationToken), conversation.PresentedCertSha256);
    }

    /// <summary>A request signed with the pair's key (SPEC §5 device headers), to a paired device's pinned certificate.</summary>
    public async Task<HttpResponseMessage> SendSignedAsync(Uri baseUri, string pinnedCertSha256, PairKeys keys, HttpMethod method, string path,
        byte[]? body, CancellationToken cancellationToken)
    {
        var headers = DeviceRequestSignature.Headers(keys, identity.DeviceId.Value, method.Method, path, body ?? [], clock);
        using var conversation = Open(new DeviceAddress(baseUri.Host.Trim('[', ']'), baseUri.Port), pinnedCertSha256);
        return await conversation.SendAsync(method, path, body, headers, cancellationToken);
    }

    public sealed class Conversation : IDisposable
    {
        private readonly DeviceHttpClient _owner;
        private readonly DeviceAddress _address;
        private readonly string? _pinned;
        private readonly HttpClient _client;

        internal Conversation(DeviceHttpClient owner, DeviceAddress address, string? pinnedCertSha256)
        {
            _owner = owner;
            _address = address;
            _pinned = pinnedCertSha256;
            var handler = new SocketsHttpHandler
            {
                ConnectTimeout = owner._settings.ProbeTimeout,
                AllowAutoRedirect = false,
                UseProxy = false,
                SslOptions = new SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                    {
                        var fingerprint = certificate is null ? null : NodeIdentity.Fingerprint(certificate);
                        if (fingerprint is null)
                            return false;
                        var expected = _pinned ?? PresentedCertSha256;
                        PresentedCertSha256 ??= fingerprint;
                        return expected is null || fingerprint == expected;
                    },
                },
            };
            // Another device answers with small JSON; a bigger answer is refused rather than buffered.
            _client = new HttpClient(handler, disposeHandler: true) { Timeout = owner._settings.ProbeTimeout, MaxResponseContentBufferSize = MaxAnswerBytes };
        }

        /// <summary>The certificate the device presented first in this conversation (null over plain HTTP).</summary>
        public string? PresentedCertSha256 { get; private set; }

        public async Task<DevicesApi.DeviceInfoResponse> ProbeAsync(CancellationToken cancellationToken)
        {
            using var response = await SendAsync(HttpMethod.Get, "/api/devices/info", null, null, cancellationToken);
            var info = await ReadAsync<DevicesApi.DeviceInfoResponse>(response, cancellationToken);
            return info is { DeviceId.Length: > 0, CertSha256.Length: 64 }
                ? info
                : throw new DeviceProtocolException("the address answered, but not as a mesh device");
        }

        /// <summary>POSTs a JSON body and reads a JSON answer; a problem answer becomes a <see cref="DeviceProtocolException"/> with its status.</summary>
        public async Task<T> PostAsync<T>(string path, object body, CancellationToken cancellationToken) where T : class
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), Json);
            using var response = await SendAsync(HttpMethod.Post, path, bytes, null, cancellationToken);
            return await ReadAsync<T>(response, cancellationToken) ?? throw new DeviceProtocolException("the device sent an empty answer");
        }

        public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? body,
            IReadOnlyDictionary<string, string>? headers, CancellationToken cancellationToken)
        {
            using var request = new HttpRequestMessage(method, new Uri(_address.BaseUri(_owner.Tls), path));
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            }
            foreach (var (name, value) in headers ?? new Dictionary<string, string>())
                request.Headers.TryAddWithoutValidation(name, value);
            var timeout = _owner._settings.ProbeTimeout;
            try
            {
                return await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new DeviceUnreachableException($"no answer from {_address} within {timeout.TotalSeconds:0.#} s", timedOut: true, e);
            }
            catch (HttpRequestException e) when (e.InnerException is AuthenticationException)
            {
                throw new DeviceUnreachableException(_pinned is null && PresentedCertSha256 is null
                    ? $"{_address} did not complete a TLS handshake (is it a mesh device{(_owner.Tls ? "" : " serving plain HTTP")}?)"
                    : $"{_address} presented a certificate other than the device's", timedOut: false, e);
            }
            catch (HttpRequestException e)
            {
                throw new DeviceUnreachableException($"cannot reach {_address}: {e.HttpRequestError switch
                {
                    HttpRequestError.ConnectionError => "connection refused or host unreachable",
                    HttpRequestError.NameResolutionError => "unknown host name",
                    HttpRequestError.SecureConnectionError => "TLS handshake failed",
                    _ => e.Message,
                }}", timedOut: false, e);
            }
        }

        public void Dispose() => _client.Dispose();
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
