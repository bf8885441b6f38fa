namespace Abpa3.Actors.Pairing;

public enum UserRole { Owner, Admin }

/// <summary>An account that may administer the device. Only the password's hash is ever held.</summary>
public sealed record UserAccount(string Username, string PasswordHash, UserRole Role, DateTimeOffset CreatedAt)
{
    public const int MaxUsernameLength = 64;

    /// <summary>Usernames: 1–64 of letters, digits, '.', '_', '-' (compared case-insensitively).</summary>
    public static bool IsValidUsername(string? username) =>
        username is { Length: > 0 and <= MaxUsernameLength }
        && username.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    public static string Normalize(string username) => username.ToLowerInvariant();
}
