using Akka.Configuration;

namespace Abpa3.Actors.Peers;

/// <summary>The peer link's timing and bounds, read from <c>abpa3.peers</c>.</summary>
public sealed record PeerLinkSettings(
    TimeSpan HeartbeatInterval,
    TimeSpan LivenessTimeout,
    TimeSpan ReconnectMaxInterval,
    TimeSpan FreshnessWindow,
    TimeSpan PendingTimeout,
    int MaxRequestNonces,
    int MaxPendingPings,
    TimeSpan ProbeTimeout,
    int MaxBatchPayloads,
    int MaxBatchBytes)
{
    public static PeerLinkSettings FromConfig(Config config)
    {
        var peers = config.GetConfig("abpa3.peers") ?? throw new ConfigurationException("missing abpa3.peers");
        var settings = new PeerLinkSettings(
            peers.GetTimeSpan("heartbeat-interval"),
            peers.GetTimeSpan("liveness-timeout"),
            peers.GetTimeSpan("reconnect-max-interval"),
            peers.GetTimeSpan("freshness-window"),
            peers.GetTimeSpan("pending-timeout"),
            peers.GetInt("max-request-nonces"),
            peers.GetInt("max-pending-pings"),
            peers.GetTimeSpan("probe-timeout"),
            peers.GetInt("max-batch-payloads"),
            (int)Math.Min(peers.GetByteSize("max-batch-bytes") ?? 0, Remoting.SignedEnvelope.MaxPayloadLength));
        return settings.HeartbeatInterval > TimeSpan.Zero && settings.LivenessTimeout > settings.HeartbeatInterval
               && settings.ReconnectMaxInterval >= settings.HeartbeatInterval && settings.FreshnessWindow > TimeSpan.Zero
               && settings.MaxRequestNonces > 0 && settings.MaxPendingPings > 0 && settings.ProbeTimeout > TimeSpan.Zero
               && settings.MaxBatchPayloads > 0 && settings.MaxBatchBytes > 0
            ? settings
            : throw new ConfigurationException(
                "abpa3.peers: heartbeat-interval must be positive and below liveness-timeout, reconnect-max-interval at least heartbeat-interval, and every bound positive");
    }
}
