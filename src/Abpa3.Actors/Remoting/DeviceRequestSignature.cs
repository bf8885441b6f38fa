using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Abpa3.Actors.Remoting;

public enum RequestVerdict { Accepted, Malformed, BadSignature, Stale, Replayed, TooMany }

/// <summary>
/// The signature of an HTTP request between paired devices (seed 004's <c>X-Device-ID</c>,
/// <c>X-Timestamp</c>, <c>X-Signature</c>, plus <c>X-Nonce</c>), made safer as SPEC §5 asks: the HMAC
/// covers the method, the path and query, the device id, the timestamp (Unix milliseconds), a nonce and
/// the SHA-256 of the body, under the pair's key for that direction.
/// </summary>
public static class DeviceRequestSignature
{
    public const string DeviceIdHeader = "X-Device-ID";
    public const string TimestampHeader = "X-Timestamp";
    public const string NonceHeader = "X-Nonce";
    public const string SignatureHeader = "X-Signature";
    public const int MaxNonceLength = 64;

    /// <summary>The headers for a request this device sends to its peer.</summary>
    public static IReadOnlyDictionary<string, string> Headers(
        PairKeys keys, string deviceId, string method, string pathAndQuery, ReadOnlySpan<byte> body, TimeProvider clock)
    {
        var timestamp = clock.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var nonce = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        var signature = Convert.ToHexStringLower(Mac(keys.Outgoing, method, pathAndQuery, deviceId, timestamp, nonce, body));
        return new Dictionary<string, string>
        {
            [DeviceIdHeader] = deviceId,
            [TimestampHeader] = timestamp,
            [NonceHeader] = nonce,
            [SignatureHeader] = signature,
        };
    }

    internal static byte[] Mac(byte[] key, string method, string pathAndQuery, string deviceId, string timestamp, string nonce, ReadOnlySpan<byte> body)
    {
        var canonical = string.Join('\n', "abpa3-http-v1", method.ToUpperInvariant(), pathAndQuery, deviceId, timestamp, nonce,
            Convert.ToHexStringLower(SHA256.HashData(body)));
        return HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(canonical));
    }
}

/// <summary>
/// Checks signed requests from one peer: a correct signature under the peer→us key, a timestamp within
/// the window of our clock, and a nonce not seen within that window. Nonces are remembered for the
/// window, up to a bound; when it is reached, further requests are refused (never is an unexpired nonce
/// forgotten, which would reopen it to replay).
/// </summary>
public sealed class DeviceRequestVerifier(PairKeys keys, TimeSpan window, int maxNonces, TimeProvider clock)
{
    private readonly Dictionary<string, DateTimeOffset> _nonces = new(StringComparer.Ordinal);
    private readonly Queue<(string Nonce, DateTimeOffset Expires)> _expiry = new();

    public RequestVerdict Verify(string method, string pathAndQuery, string? deviceId, string? timestamp, string? nonce, string? signature,
        ReadOnlySpan<byte> body)
    {
        if (deviceId is null || nonce is not { Length: > 0 and <= DeviceRequestSignature.MaxNonceLength } || signature is not { Length: 64 }
            || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            || !TryFromHex(signature, out var given))
            return RequestVerdict.Malformed;
        var expected = DeviceRequestSignature.Mac(keys.Incoming, method, pathAndQuery, deviceId, timestamp!, nonce, body);
        if (!CryptographicOperations.FixedTimeEquals(expected, given))
            return RequestVerdict.BadSignature;
        var now = clock.GetUtcNow();
        if (ms > 253402300799999L || (now - DateTimeOffset.FromUnixTimeMilliseconds(ms)).Duration() > window)
            return RequestVerdict.Stale;
        Forget(now);
        if (_nonces.ContainsKey(nonce))
            return RequestVerdict.Replayed;
        if (_nonces.Count >= maxNonces)
            return RequestVerdict.TooMany;
        _nonces[nonce] = now + window;
        _expiry.Enqueue((nonce, now + window));
        return RequestVerdict.Accepted;
    }

    private void Forget(DateTimeOffset now)
    {
        while (_expiry.TryPeek(out var oldest) && oldest.Expires < now)
        {
            _expiry.Dequeue();
            _nonces.Remove(oldest.Nonce);
        }
    }

    private static bool TryFromHex(string hex, out byte[] bytes)
    {
        try
        {
            bytes = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            bytes = [];
            return false;
        }
    }
}
