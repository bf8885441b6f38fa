using System.Collections.Concurrent;
using QRCoder;

namespace Abpa3.Web.Http;

/// <summary>
/// The QR payloads of open pairing tokens, in memory only (the journal keeps just the token's hash),
/// so the owner's screen can fetch the image. After a restart the image is gone but a token already
/// scanned still pairs. Entries leave shortly after their token expires.
/// </summary>
public sealed class QrCodeCache(TimeProvider clock)
{
    private static readonly TimeSpan KeepAfterExpiry = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, (string Payload, DateTimeOffset ExpiresAt)> _codes = new();

    public void Add(string id, string payloadJson, DateTimeOffset expiresAt)
    {
        var now = clock.GetUtcNow();
        foreach (var (key, entry) in _codes)
            if (entry.ExpiresAt + KeepAfterExpiry < now)
                _codes.TryRemove(key, out _);
        _codes[id] = (payloadJson, expiresAt);
    }

    public enum Lookup { Found, Expired, Unknown }

    public Lookup TryGet(string id, out string payloadJson)
    {
        payloadJson = "";
        if (!_codes.TryGetValue(id, out var entry))
            return Lookup.Unknown;
        if (entry.ExpiresAt <= clock.GetUtcNow())
            return Lookup.Expired;
        payloadJson = entry.Payload;
        return Lookup.Found;
    }

    public static byte[] Png(string payload)
    {
        using var data = QRCodeGenerator.GenerateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        return new PngByteQRCode(data).GetGraphic(8);
    }

    public static string Svg(string payload)
    {
        using var data = QRCodeGenerator.GenerateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        return new SvgQRCode(data).GetGraphic(8);
    }
}
