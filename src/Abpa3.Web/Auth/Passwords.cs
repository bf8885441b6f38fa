using Microsoft.AspNetCore.Identity;

namespace Abpa3.Web.Auth;

/// <summary>
/// Password hashing with ASP.NET Core Identity's hasher (PBKDF2-HMAC-SHA512, salted, versioned format).
/// Unknown users are checked against a dummy hash so a wrong username costs as long as a wrong password.
/// </summary>
public sealed class Passwords
{
    private static readonly object Subject = new();
    private readonly PasswordHasher<object> _hasher = new();
    private readonly Lazy<string> _dummyHash;

    public Passwords() => _dummyHash = new Lazy<string>(() => Hash(Guid.NewGuid().ToString()));

    public string Hash(string password) => _hasher.HashPassword(Subject, password);

    public bool Verify(string? storedHash, string password)
    {
        var result = _hasher.VerifyHashedPassword(Subject, storedHash ?? _dummyHash.Value, password);
        return storedHash is not null && result != PasswordVerificationResult.Failed;
    }
}
