using System.Security.Cryptography;
using System.Text;

namespace Abpa3.Actors.Identity;

/// <summary>
/// The 8-digit code printed on the device's console and kept in its data directory. Whoever holds it
/// may claim the device while it is unconfigured; it is never served over the network.
/// </summary>
public sealed class SetupCode
{
    public const int Length = 8;
    private readonly byte[] _digits;

    private SetupCode(string digits) => _digits = Encoding.ASCII.GetBytes(digits);

    public static SetupCode Generate()
    {
        var number = RandomNumberGenerator.GetInt32(0, 100_000_000);
        return new SetupCode(number.ToString("D8"));
    }

    public static bool TryParse(string? text, out SetupCode? code)
    {
        code = text is { Length: Length } && text.All(char.IsAsciiDigit) ? new SetupCode(text) : null;
        return code is not null;
    }

    /// <summary>Constant-time comparison, so response timing tells nothing about how many digits matched.</summary>
    public bool Matches(string? candidate)
    {
        if (candidate is null || candidate.Length != Length)
            return false;
        return CryptographicOperations.FixedTimeEquals(_digits, Encoding.ASCII.GetBytes(candidate));
    }

    /// <summary>The digits, for the console and the setup-code file only.</summary>
    public string Reveal() => Encoding.ASCII.GetString(_digits);

    public override string ToString() => "********";
}
