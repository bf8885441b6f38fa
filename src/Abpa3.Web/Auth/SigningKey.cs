using System.Security.Cryptography;
using Abpa3.Actors.Identity;
using Microsoft.IdentityModel.Tokens;

namespace Abpa3.Web.Auth;

/// <summary>The device's own key for signing access tokens: 256 random bits, made on first boot, owner-only on disk.</summary>
public static class SigningKey
{
    public const string FileName = "jwt-signing.key";
    private const int KeyBytes = 32;

    public static SymmetricSecurityKey LoadOrCreate(string dataDir)
    {
        var path = Path.Combine(dataDir, FileName);
        if (!File.Exists(path))
            DataDirectory.WriteOwnerOnly(path, RandomNumberGenerator.GetBytes(KeyBytes));
        var key = File.ReadAllBytes(path);
        if (key.Length != KeyBytes)
            throw new InvalidDataException($"{path} does not hold a {KeyBytes}-byte key");
        return new SymmetricSecurityKey(key) { KeyId = Convert.ToHexStringLower(SHA256.HashData(key))[..16] };
    }
}
