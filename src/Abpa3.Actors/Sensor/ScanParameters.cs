using System.Text.Json;

namespace Abpa3.Actors.Sensor;

/// <summary>
/// A scan's parameters for the simulated driver (SPEC §7), all optional with documented defaults:
/// a <c>width</c> × <c>height</c> grid of one-byte samples, split into <c>segments</c> bands of rows,
/// generated from <c>seed</c> at <c>rows_per_second</c>.
/// </summary>
public sealed record ScanParameters(int Width, int Height, int Segments, long Seed, double RowsPerSecond)
{
    public const int DefaultWidth = 64;
    public const int DefaultHeight = 64;
    public const int DefaultSegments = 8;
    public const long DefaultSeed = 1;
    public const double DefaultRowsPerSecond = 200;
    public const int MaxSide = 1024;
    public const double MaxRowsPerSecond = 100_000;
    /// <summary>Samples one segment may hold: its result must fit one signed envelope on the peer link.</summary>
    public const int MaxSegmentSamples = 128 * 1024;

    public static readonly ScanParameters Default = new(DefaultWidth, DefaultHeight, DefaultSegments, DefaultSeed, DefaultRowsPerSecond);

    public long TotalBytes => (long)Width * Height;

    /// <summary>The same ranges <see cref="Parse"/> enforces, for parameters that arrive already typed (from a peer, or the journal).</summary>
    public bool IsValid() =>
        Width is >= 1 and <= MaxSide && Height is >= 1 and <= MaxSide && Segments >= 1 && Segments <= Height
        && RowsPerSecond > 0 && RowsPerSecond <= MaxRowsPerSecond && (long)Width * ((Height + Segments - 1) / Segments) <= MaxSegmentSamples;

    public int SegmentBytes(int segment)
    {
        var (start, end) = SegmentRows(segment);
        return (end - start) * Width;
    }

    /// <summary>Rows [start, end) of a segment: the grid's rows split as evenly as possible.</summary>
    public (int Start, int End) SegmentRows(int segment) =>
        ((int)((long)segment * Height / Segments), (int)((long)(segment + 1) * Height / Segments));

    /// <summary>Reads the JSON object of a request; null (with the field errors) when anything is out of range.</summary>
    public static ScanParameters? Parse(JsonElement? json, out Dictionary<string, string[]> errors)
    {
        errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (json is null || json.Value.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            return Default;
        if (json.Value.ValueKind != JsonValueKind.Object)
        {
            errors["params"] = ["an object of width, height, segments, seed and rows_per_second"];
            return null;
        }
        var element = json.Value;
        var width = Int(element, "width", DefaultWidth, 1, MaxSide, errors);
        var height = Int(element, "height", DefaultHeight, 1, MaxSide, errors);
        var segments = Int(element, "segments", DefaultSegments, 1, MaxSide, errors);
        long seed = DefaultSeed;
        if (element.TryGetProperty("seed", out var s) && !(s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out seed)))
            errors["seed"] = ["a whole number"];
        var rate = DefaultRowsPerSecond;
        if (element.TryGetProperty("rows_per_second", out var r)
            && !(r.ValueKind == JsonValueKind.Number && r.TryGetDouble(out rate) && rate > 0 && rate <= MaxRowsPerSecond))
            errors["rows_per_second"] = [$"a number above 0 and at most {MaxRowsPerSecond}"];
        foreach (var property in element.EnumerateObject())
            if (property.Name is not ("width" or "height" or "segments" or "seed" or "rows_per_second"))
                errors[property.Name] = ["not a scan parameter"];
        if (errors.Count == 0 && segments > height)
            errors["segments"] = ["at most one segment per row"];
        if (errors.Count == 0 && (long)width * ((height + segments - 1) / segments) > MaxSegmentSamples)
            errors["segments"] = [$"a segment may hold at most {MaxSegmentSamples} samples (width × rows); use more segments"];
        return errors.Count == 0 ? new ScanParameters(width, height, segments, seed, rate) : null;
    }

    private static int Int(JsonElement element, string name, int fallback, int min, int max, Dictionary<string, string[]> errors)
    {
        if (!element.TryGetProperty(name, out var value))
            return fallback;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number) && number >= min && number <= max)
            return number;
        errors[name] = [$"a whole number from {min} to {max}"];
        return fallback;
    }
}
