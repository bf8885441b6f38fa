namespace Abpa3.Actors.Identity;

/// <summary>File-system rules for the data directory: owner-only access to everything in it.</summary>
public static class DataDirectory
{
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Ensure(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        Directory.CreateDirectory(path, OwnerOnlyDirectory);
        // An existing directory may have been made by hand with looser rights; nobody else may swap our keys.
        File.SetUnixFileMode(path, OwnerOnlyDirectory);
    }

    /// <summary>
    /// Holds the data directory for this process: a second node on the same directory would share
    /// identity and journal, so it refuses to start. Released when the returned handle is disposed.
    /// </summary>
    public static IDisposable Lock(string path)
    {
        var lockFile = Path.Combine(path, "node.lock");
        try
        {
            return new FileStream(lockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"another node is using the data directory {path}", e);
        }
    }

    /// <summary>Writes a file that only its owner can read, via a temporary file so a crash never leaves half a secret.</summary>
    public static void WriteOwnerOnly(string path, ReadOnlySpan<byte> content)
    {
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = OwnerOnlyFile;
        using (var stream = new FileStream(temporary, options))
        {
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Makes an existing file owner-only (for files created by libraries, such as the journal).</summary>
    public static void RestrictToOwner(string path)
    {
        if (!OperatingSystem.IsWindows() && File.Exists(path))
            File.SetUnixFileMode(path, OwnerOnlyFile);
    }
}
