using Akka.Configuration;

namespace Abpa3.Actors.Configuration;

/// <summary>The node's own settings, read from <c>abpa3.node</c> (see <c>hocon/abpa3.hocon</c>).</summary>
public sealed record NodeSettings(
    string DataDir,
    string? Name,
    string? DeviceId,
    string Bind,
    int HttpPort,
    int RemotePort,
    int RemotePublicPort,
    bool PlainHttp,
    TimeSpan AskTimeout)
{
    public static NodeSettings FromConfig(Config config)
    {
        var node = config.GetConfig("abpa3.node") ?? throw new ConfigurationException("missing abpa3.node");
        return new NodeSettings(
            DataDir: Path.GetFullPath(Required(node, "data-dir")),
            Name: Optional(node, "name"),
            DeviceId: Optional(node, "device-id"),
            Bind: Required(node, "bind"),
            HttpPort: Port(node, "http-port"),
            RemotePort: Port(node, "remote-port"),
            RemotePublicPort: Port(node, "remote-public-port"),
            PlainHttp: node.GetBoolean("plain-http"),
            AskTimeout: node.GetTimeSpan("ask-timeout"));
    }

    private static string Required(Config config, string key) =>
        config.GetString(key) is { Length: > 0 } value ? value : throw new ConfigurationException($"abpa3.node.{key} must be set");

    private static string? Optional(Config config, string key) =>
        config.GetString(key) is { Length: > 0 } value ? value : null;

    private static int Port(Config config, string key)
    {
        var port = config.GetInt(key);
        return port is >= 0 and <= 65535 ? port : throw new ConfigurationException($"abpa3.node.{key} must be 0–65535");
    }
}
