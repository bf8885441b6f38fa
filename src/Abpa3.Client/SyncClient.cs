using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace Abpa3.Client;

/// <summary>Something the node sent that the application cares about.</summary>
public abstract record SyncNotice
{
    public sealed record Event(string Topic, long Seq, string Source, JsonNode? Data) : SyncNotice;

    /// <summary>Events of this topic were lost to this client (buffer gone or node restarted): fetch current state.</summary>
    public sealed record Resync(string Topic, long Seq) : SyncNotice;

    public sealed record Connected(string SessionId, string Epoch) : SyncNotice;

    public sealed record Disconnected(int? CloseCode) : SyncNotice;
}

/// <summary>
/// The sync channel from the client's side: connects with its device key, reconnects with exponential
/// backoff and jitter, and resumes every topic with <c>since</c>, so a reconnect loses nothing the node
/// still buffers and never shows an event twice. Revocation (4403) and an unknown key (4401) end it.
/// </summary>
public sealed class SyncClient : IAsyncDisposable
{
    private static readonly TimeSpan MinBackoff = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);
    private readonly PairedCredentials _credentials;
    private readonly string[] _topics;
    private readonly Channel<SyncNotice> _notices = Channel.CreateUnbounded<SyncNotice>();
    private readonly ConcurrentDictionary<string, long> _lastSeq = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _pendingAcks = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private ClientWebSocket? _socket;
    private string? _epoch;
    private Task? _run;
    private long _nextId;

    public SyncClient(PairedCredentials credentials, params string[] topics)
    {
        _credentials = credentials;
        _topics = topics;
    }

    public ChannelReader<SyncNotice> Notices => _notices.Reader;

    /// <summary>Set when the node refused this client for good (4401 unknown key, 4403 revoked).</summary>
    public int? FatalCloseCode { get; private set; }

    public long LastSeq(string topic) => _lastSeq.GetValueOrDefault(topic);

    public void Start() => _run ??= Task.Run(RunAsync);

    /// <summary>Drops the connection without closing it cleanly, as a lost network would (the client reconnects).</summary>
    public void Drop() => _socket?.Abort();

    /// <summary>Publishes and waits for the node's ack; returns the event's sequence number.</summary>
    public async Task<long> PublishAsync(string topic, object data, CancellationToken cancellationToken = default)
    {
        var id = "m" + Interlocked.Increment(ref _nextId);
        var ack = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pendingAcks[id] = ack;
        await SendAsync(new { type = "publish", topic, id, data }, cancellationToken);
        using var registration = cancellationToken.Register(() => ack.TrySetCanceled());
        return await ack.Task;
    }

    private async Task RunAsync()
    {
        var failures = 0;
        while (!_stop.IsCancellationRequested)
        {
            int? closeCode = null;
            try
            {
                using var socket = new ClientWebSocket();
                socket.Options.SetRequestHeader("Authorization", "Device " + _credentials.DeviceKey);
                socket.Options.RemoteCertificateValidationCallback = CertificatePin.For(_credentials.CertSha256);
                await socket.ConnectAsync(_credentials.SocketUri, _stop.Token);
                _socket = socket;
                closeCode = await ReceiveAsync(socket);
                failures = 0;
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException or HttpRequestException)
            {
                failures++;
            }
            finally
            {
                _socket = null;
                foreach (var pending in _pendingAcks.Values)
                    pending.TrySetException(new IOException("connection lost before the ack"));
                _pendingAcks.Clear();
            }
            _notices.Writer.TryWrite(new SyncNotice.Disconnected(closeCode));
            if (closeCode is 4401 or 4403)
            {
                FatalCloseCode = closeCode;
                break;
            }
            await DelayAsync(failures);
        }
        _notices.Writer.TryComplete();
    }

    private async Task DelayAsync(int failures)
    {
        // Exponential backoff with full jitter: many clients of a restarted node do not return in lockstep.
        var ceiling = Math.Min(MaxBackoff.TotalMilliseconds, MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 16)));
        var delay = TimeSpan.FromMilliseconds(MinBackoff.TotalMilliseconds + Random.Shared.NextDouble() * ceiling);
        try
        {
            await Task.Delay(delay, _stop.Token);
        }
        catch (OperationCanceledException) { }
    }

    private async Task<int?> ReceiveAsync(ClientWebSocket socket)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var length = 0;
            WebSocketReceiveResult result;
            do
            {
                if (length == buffer.Length)
                    Array.Resize(ref buffer, buffer.Length * 2);
                result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), _stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                    return (int?)result.CloseStatus;
                length += result.Count;
            } while (!result.EndOfMessage);
            await HandleAsync(JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, length))!.AsObject());
        }
    }

    private async Task HandleAsync(JsonObject message)
    {
        switch (message["type"]?.GetValue<string>())
        {
            case "welcome":
                var epoch = message["epoch"]!.GetValue<string>();
                // After the first connection every topic resumes from the last event seen (0: from the start of the epoch).
                var since = _epoch is null ? null : _topics.ToDictionary(t => t, t => _lastSeq.GetValueOrDefault(t));
                _epoch ??= epoch;
                _notices.Writer.TryWrite(new SyncNotice.Connected(message["session_id"]!.GetValue<string>(), epoch));
                await SendAsync(new { type = "subscribe", topics = _topics, since, epoch = _epoch }, _stop.Token);
                _epoch = epoch;
                break;
            case "event":
                var topic = message["topic"]!.GetValue<string>();
                var seq = message["seq"]!.GetValue<long>();
                if (seq <= _lastSeq.GetValueOrDefault(topic))
                    return; // already seen: a replay overlapping what arrived live
                _lastSeq[topic] = seq;
                _notices.Writer.TryWrite(new SyncNotice.Event(topic, seq, message["source"]!.GetValue<string>(), message["data"]?.DeepClone()));
                break;
            case "subscribed":
                // Where each topic stood when this client first subscribed: it resumes from there, not from
                // the start of the node's buffer.
                foreach (var (subscribedTopic, position) in message["seqs"]!.AsObject())
                    _lastSeq.TryAdd(subscribedTopic, position!.GetValue<long>());
                break;
            case "resync_required":
                var resyncTopic = message["topic"]!.GetValue<string>();
                var current = message["seq"]!.GetValue<long>();
                _lastSeq[resyncTopic] = current;
                _notices.Writer.TryWrite(new SyncNotice.Resync(resyncTopic, current));
                break;
            case "ack":
                if (_pendingAcks.TryRemove(message["id"]!.GetValue<string>(), out var ack))
                    ack.TrySetResult(message["seq"]!.GetValue<long>());
                break;
        }
    }

    private async Task SendAsync(object message, CancellationToken cancellationToken)
    {
        var socket = _socket ?? throw new IOException("not connected");
        var bytes = JsonSerializer.SerializeToUtf8Bytes(message);
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await socket.SendAsync(bytes, WebSocketMessageType.Text, true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket?.Abort();
        if (_run is not null)
            await _run;
        _stop.Dispose();
    }
}
