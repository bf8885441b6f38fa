namespace Abpa3.Actors.Tests.Support;

/// <summary>A fresh data directory per test, removed afterwards.</summary>
public sealed class TempDataDir : IDisposable
{
    public TempDataDir() =>
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "abpa3-test-" + Guid.NewGuid().ToString("N"));

    public string Path { get; }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        if (Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
