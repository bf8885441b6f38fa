using System.Text.RegularExpressions;

namespace Abpa3.Actors.Identity;

/// <summary>A device's stable public identifier: lowercase letters, digits and dashes, 3–64 characters.</summary>
public readonly partial record struct DeviceId
{
    public string Value { get; }

    private DeviceId(string value) => Value = value;

    public static bool TryParse(string? text, out DeviceId id)
    {
        if (text is not null && Pattern().IsMatch(text))
        {
            id = new DeviceId(text);
            return true;
        }
        id = default;
        return false;
    }

    public static DeviceId Parse(string text) =>
        TryParse(text, out var id)
            ? id
            : throw new FormatException($"'{text}' is not a device id (3–64 of a-z, 0-9 and '-', starting with a letter or digit)");

    public override string ToString() => Value;

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{2,63}$")]
    private static partial Regex Pattern();
}
