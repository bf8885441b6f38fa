using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Sql;
using Microsoft.Data.Sqlite;
using Abpa3.Actors.Identity;

namespace Abpa3.Actors.Persistence;

/// <summary>
/// The journal and snapshot store: Akka.Persistence.Sql on SQLite files in the data directory, in WAL
/// mode with a single writer each. Snapshots live in their own file: sharing one would make a journal
/// write wait on a snapshot write's lock, and the SQLite driver retries a locked write only after 150 ms.
/// </summary>
public static class SqliteJournal
{
    public const string DatabaseFile = "mesh.db";
    public const string SnapshotFile = "mesh-snapshots.db";

    public static string DatabasePath(string dataDir) => Path.Combine(dataDir, DatabaseFile);

    public static string SnapshotPath(string dataDir) => Path.Combine(dataDir, SnapshotFile);

    public static string ConnectionString(string databasePath) =>
        new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = true }.ToString();

    /// <summary>Creates the file owner-only and switches it to WAL (the mode sticks to the file).</summary>
    public static void Prepare(string databasePath)
    {
        if (!File.Exists(databasePath))
            DataDirectory.WriteOwnerOnly(databasePath, ReadOnlySpan<byte>.Empty);
        using (var connection = new SqliteConnection(ConnectionString(databasePath)))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=WAL;";
            command.ExecuteNonQuery();
        }
        foreach (var sidecar in new[] { "-wal", "-shm" })
            DataDirectory.RestrictToOwner(databasePath + sidecar);
    }

    /// <summary>
    /// Closes pooled connections so SQLite checkpoints the WAL into the main file; call after the
    /// actor system has terminated.
    /// </summary>
    public static void Flush() => SqliteConnection.ClearAllPools();

    public static Config Hocon(string databasePath, string snapshotPath)
    {
        var connection = ConnectionString(databasePath).Replace("\"", "\\\"");
        var snapshots = ConnectionString(snapshotPath).Replace("\"", "\\\"");
        return ConfigurationFactory.ParseString($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql {
                  connection-string = "{{connection}}"
                  provider-name = "SQLite.MS"
                  auto-initialize = true
                  parallelism = 1
                }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  connection-string = "{{snapshots}}"
                  provider-name = "SQLite.MS"
                  auto-initialize = true
                }
              }
              query.journal.sql {
                connection-string = "{{connection}}"
                provider-name = "SQLite.MS"
              }
            }
            """);
    }

    public static AkkaConfigurationBuilder WithSqliteJournal(this AkkaConfigurationBuilder builder, string dataDir)
    {
        var path = DatabasePath(dataDir);
        var snapshotPath = SnapshotPath(dataDir);
        Prepare(path);
        Prepare(snapshotPath);
        return builder
            .AddHocon(Hocon(path, snapshotPath), HoconAddMode.Prepend)
            .AddHocon(SqlPersistence.DefaultConfiguration, HoconAddMode.Append);
    }
}
