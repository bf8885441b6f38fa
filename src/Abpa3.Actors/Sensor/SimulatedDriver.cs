namespace Abpa3.Actors.Sensor;

/// <summary>What turns scan parameters into samples on a sensor. The simulated driver ships; a real one plugs in by configuration.</summary>
public interface ISensorDriver
{
    /// <summary>The samples of rows [startRow, endRow): <c>width</c> bytes per row.</summary>
    byte[] ReadRows(ScanParameters parameters, int startRow, int endRow);
}

/// <summary>
/// Deterministic samples: each byte is a pure function of (seed, x, y), so the assembled result of any
/// scan can be checked exactly, whatever failed on the way (SPEC §7).
/// </summary>
public sealed class SimulatedDriver : ISensorDriver
{
    public byte[] ReadRows(ScanParameters parameters, int startRow, int endRow)
    {
        var bytes = new byte[(endRow - startRow) * parameters.Width];
        for (var y = startRow; y < endRow; y++)
        for (var x = 0; x < parameters.Width; x++)
            bytes[(y - startRow) * parameters.Width + x] = Sample(parameters.Seed, x, y);
        return bytes;
    }

    /// <summary>Diagonal bands plus noise, so a heatmap of it looks like something; integers only (SplitMix64), so every machine agrees.</summary>
    public static byte Sample(long seed, int x, int y)
    {
        var z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)x * 0xBF58476D1CE4E5B9UL + (ulong)y * 0x94D049BB133111EBUL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        var band = (x * 7 + y * 5 + (int)(seed & 0xFF)) % 128;
        return (byte)(64 + band + (int)(z % 64));
    }
}
