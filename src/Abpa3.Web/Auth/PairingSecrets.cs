using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace Abpa3.Web.Auth;

/// <summary>
/// Pairing tokens (128 random bits) and device keys (256 random bits), and their stored form. Both are
/// random, not chosen by people, so a plain SHA-256 is a sound stored hash: nothing to brute-force.
/// </summary>
public static class PairingSecrets
{
    private const int TokenBytes = 16;
    private const int KeyBytes = 32;
    public const string KeyPrefix = "dev_";
    public static readonly int TokenLength = Base64UrlEncoder.Encode(new byte[TokenBytes]).Length;
    public static readonly int KeyLength = KeyPrefix.Length + Base64UrlEncoder.Encode(new byte[KeyBytes]).Length;

    public static string NewToken() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(TokenBytes));

    public static string NewDeviceKey() => KeyPrefix + Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(KeyBytes));

    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));

    public static string Hash(string secret) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    public static bool IsTokenShaped(string? text) => text is not null && text.Length == TokenLength && text.All(IsBase64UrlChar);

    public static bool IsKeyShaped(string? text) =>
        text is not null && text.Length == KeyLength && text.StartsWith(KeyPrefix, StringComparison.Ordinal)
        && text.Skip(KeyPrefix.Length).All(IsBase64UrlChar);

    private static bool IsBase64UrlChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '-' or '_';
}
