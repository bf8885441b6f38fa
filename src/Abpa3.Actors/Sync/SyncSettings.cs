using Akka.Configuration;

namespace Abpa3.Actors.Sync;

/// <summary>The sync channel's limits, read from <c>abpa3.sync</c>.</summary>
public sealed record SyncSettings(
    int ReplayBufferPerTopic,
    long ReplayBufferBytesPerTopic,
    int OutboxCapacity,
    long OutboxMaxBytes,
    int OutboxControlMessages,
    int MaxSessionsPerDevice,
    int MaxMessageBytes,
    TimeSpan AuthTimeout,
    int MessagesPerSecond,
    int MessageBurst,
    int MaxSubscriptionTopics)
{
    public static SyncSettings FromConfig(Config config)
    {
        var sync = config.GetConfig("abpa3.sync") ?? throw new ConfigurationException("missing abpa3.sync");
        var settings = new SyncSettings(
            sync.GetInt("replay-buffer-per-topic"),
            sync.GetByteSize("replay-buffer-bytes-per-topic") ?? 0,
            sync.GetInt("outbox-capacity"),
            sync.GetByteSize("outbox-max-bytes") ?? 0,
            sync.GetInt("outbox-control-messages"),
            sync.GetInt("max-sessions-per-device"),
            (int)(sync.GetByteSize("max-message") ?? 0),
            sync.GetTimeSpan("auth-timeout"),
            sync.GetInt("messages-per-second"),
            sync.GetInt("message-burst"),
            SyncTopics.All.Count);
        return settings is
               {
                   ReplayBufferPerTopic: > 0, ReplayBufferBytesPerTopic: > 0, OutboxCapacity: > 1, OutboxMaxBytes: > 0,
                   OutboxControlMessages: > 0, MaxSessionsPerDevice: > 0, MaxMessageBytes: > 0, MessagesPerSecond: > 0, MessageBurst: > 0,
               }
               && settings.AuthTimeout > TimeSpan.Zero
            ? settings
            : throw new ConfigurationException("abpa3.sync limits must be positive");
    }

    public SessionOutbox NewOutbox() => new(OutboxCapacity, OutboxMaxBytes, OutboxControlMessages);
}
