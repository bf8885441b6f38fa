using System.Text.Json;
using System.Text.Json.Serialization;

namespace Abpa3.Client;

/// <summary>What the node's QR code holds (SPEC §4).</summary>
public sealed record QrPayload(
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("pairToken")] string PairToken,
    [property: JsonPropertyName("expires")] long Expires,
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("tls")] bool Tls,
    [property: JsonPropertyName("cert_sha256")] string CertSha256,
    [property: JsonPropertyName("device_id")] string DeviceId)
{
    public static QrPayload Parse(string json) =>
        JsonSerializer.Deserialize<QrPayload>(json) ?? throw new FormatException("empty QR payload");
}

/// <summary>What a paired client keeps: where the node is, how to recognise it, and its own key.</summary>
public sealed record PairedCredentials(
    [property: JsonPropertyName("host")] string Host,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("tls")] bool Tls,
    [property: JsonPropertyName("cert_sha256")] string CertSha256,
    [property: JsonPropertyName("node_device_id")] string NodeDeviceId,
    [property: JsonPropertyName("device_id")] string DeviceId,
    [property: JsonPropertyName("device_key")] string DeviceKey)
{
    public Uri HttpBase => new($"{(Tls ? "https" : "http")}://{Host}:{Port}/");
    public Uri SocketUri => new($"{(Tls ? "wss" : "ws")}://{Host}:{Port}/ws");

    /// <summary>Stores the credentials readable by their owner only.</summary>
    public void Save(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var stream = new FileStream(path, options);
        JsonSerializer.Serialize(stream, this);
    }

    public static PairedCredentials Load(string path) =>
        JsonSerializer.Deserialize<PairedCredentials>(File.ReadAllText(path)) ?? throw new FormatException($"{path} is empty");
}
