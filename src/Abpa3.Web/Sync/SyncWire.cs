using System.Buffers;
using System.Text.Json;
using Abpa3.Actors.Sync;
using static Abpa3.Actors.Sync.ClientMessages;
using static Abpa3.Actors.Sync.ServerMessages;

namespace Abpa3.Web.Sync;

/// <summary>The sync channel's JSON (SPEC §6): client frames to messages, server messages to frames.</summary>
public static class SyncWire
{
    private const int MaxTopicsPerMessage = 16;
    private const int MaxIdLength = 128;
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 32 };

    /// <summary>The first message of a browser that did not authenticate in the upgrade request.</summary>
    public sealed record AuthMessage(string? DeviceKey, string? AccessToken);

    public static AuthMessage? ParseAuth(ReadOnlyMemory<byte> frame)
    {
        try
        {
            using var document = JsonDocument.Parse(frame, DocumentOptions);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || Text(root, "type") != "auth")
                return null;
            return new AuthMessage(Text(root, "deviceKey"), Text(root, "access_token"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static IClientMessage Parse(ReadOnlyMemory<byte> frame)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(frame, DocumentOptions);
        }
        catch (JsonException)
        {
            return new Malformed("malformed", "messages are JSON objects");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return new Malformed("malformed", "messages are JSON objects");
            return Text(root, "type") switch
            {
                "subscribe" => ParseSubscribe(root),
                "unsubscribe" => Topics(root) is { } topics ? new Unsubscribe(topics) : Invalid("unsubscribe needs topics: [string]"),
                "publish" => ParsePublish(root),
                "ping" => Ping.Instance,
                "auth" => new Malformed("already_authenticated", "this session is already authenticated"),
                null => Invalid("every message has a string \"type\""),
                var other => new Malformed("unknown_type", $"unknown message type '{Truncate(other)}'"),
            };
        }
    }

    private static IClientMessage ParseSubscribe(JsonElement root)
    {
        if (Topics(root) is not { } topics)
            return Invalid("subscribe needs topics: [string]");
        Dictionary<string, long>? since = null;
        if (root.TryGetProperty("since", out var sinceElement) && sinceElement.ValueKind != JsonValueKind.Null)
        {
            if (sinceElement.ValueKind != JsonValueKind.Object)
                return Invalid("since is an object of topic: seq");
            since = new Dictionary<string, long>();
            foreach (var property in sinceElement.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetInt64(out var seq) || seq < 0
                    || since.Count >= MaxTopicsPerMessage)
                    return Invalid("since is an object of topic: seq (a whole number ≥ 0)");
                since[property.Name] = seq;
            }
        }
        var epoch = root.TryGetProperty("epoch", out var epochElement) && epochElement.ValueKind == JsonValueKind.String
            ? epochElement.GetString()
            : null;
        return new Subscribe(topics, since, epoch);
    }

    private static IClientMessage ParsePublish(JsonElement root)
    {
        var topic = Text(root, "topic");
        var id = Text(root, "id");
        if (topic is null || id is not { Length: > 0 and <= MaxIdLength } || !root.TryGetProperty("data", out var data))
            return Invalid($"publish needs topic, id (1–{MaxIdLength} characters) and data");
        return new Publish(topic, id, System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(data).ToArray());
    }

    private static IReadOnlyList<string>? Topics(JsonElement root)
    {
        if (!root.TryGetProperty("topics", out var topics) || topics.ValueKind != JsonValueKind.Array
            || topics.GetArrayLength() is 0 or > MaxTopicsPerMessage)
            return null;
        var list = new List<string>();
        foreach (var topic in topics.EnumerateArray())
        {
            if (topic.ValueKind != JsonValueKind.String)
                return null;
            list.Add(topic.GetString()!);
        }
        return list;
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static Malformed Invalid(string message) => new("invalid", message);

    private static string Truncate(string text) => text.Length <= 32 ? text : text[..32] + "…";

    /// <summary>
    /// An event's frame is the same for every subscriber: made once and shared, so fanning one event
    /// out to a thousand sockets serializes it once. Frames leave with their events.
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SyncEvent, byte[]> EventFrames = new();

    /// <summary>The bytes to send for a message.</summary>
    public static ReadOnlyMemory<byte> Frame(IServerMessage message, ArrayBufferWriter<byte> scratch)
    {
        if (message is Event { Body: var e })
            return EventFrames.GetValue(e, static body =>
            {
                var buffer = new ArrayBufferWriter<byte>(256);
                Write(new Event(body), buffer);
                return buffer.WrittenSpan.ToArray();
            });
        scratch.ResetWrittenCount();
        Write(message, scratch);
        return scratch.WrittenMemory;
    }

    public static void Write(IServerMessage message, IBufferWriter<byte> output)
    {
        using var json = new Utf8JsonWriter(output);
        json.WriteStartObject();
        switch (message)
        {
            case Welcome w:
                json.WriteString("type", "welcome");
                json.WriteString("session_id", w.SessionId);
                json.WriteString("device_id", w.DeviceId);
                json.WriteString("epoch", w.Epoch);
                break;
            case Event { Body: var e }:
                json.WriteString("type", "event");
                json.WriteString("topic", e.Topic);
                json.WriteNumber("seq", e.Seq);
                json.WriteString("ts", e.Ts);
                json.WriteString("source", e.Source);
                json.WritePropertyName("data");
                json.WriteRawValue(e.Data, skipInputValidation: true); // validated JSON when it was published
                break;
            case Ack a:
                json.WriteString("type", "ack");
                json.WriteString("id", a.Id);
                json.WriteNumber("seq", a.Seq);
                break;
            case Error err:
                json.WriteString("type", "error");
                json.WriteString("code", err.Code);
                json.WriteString("message", err.Message);
                break;
            case Pong:
                json.WriteString("type", "pong");
                break;
            case Subscribed s:
                json.WriteString("type", "subscribed");
                json.WriteStartObject("seqs");
                foreach (var (topic, seq) in s.Seqs)
                    json.WriteNumber(topic, seq);
                json.WriteEndObject();
                break;
            case ResyncRequired r:
                json.WriteString("type", "resync_required");
                json.WriteString("topic", r.Topic);
                json.WriteNumber("seq", r.Seq);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(message), message.GetType().Name, "not a frame");
        }
        json.WriteEndObject();
    }
}
