namespace Abpa3.Actors.Scans;

/// <summary>Scan ids: 1–64 of letters, digits, '-' and '_' (the manager makes them; callers may name one).</summary>
public static class ScanIds
{
    public const int MaxLength = 64;

    public static bool IsValid(string? id) =>
        id is { Length: > 0 and <= MaxLength } && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    public static string New() => Guid.NewGuid().ToString("N")[..16];
}
