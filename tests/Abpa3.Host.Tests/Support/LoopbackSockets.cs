using System.Globalization;

namespace Abpa3.Host.Tests.Support;

/// <summary>
/// Which process holds the client end of a loopback TCP connection, read from Linux's <c>/proc</c> (the socket's inode
/// in <c>/proc/net/tcp</c> or <c>tcp6</c>, then the process's open descriptors). A proxy in front of a node that several
/// devices dial uses it to cut only one device's connections.
/// </summary>
public static class LoopbackSockets
{
    /// <summary>Whether process <paramref name="pid"/> holds the socket connected from <paramref name="clientPort"/> to <paramref name="serverPort"/>.</summary>
    public static bool IsHeldBy(int pid, int clientPort, int serverPort)
    {
        var inodes = ClientSocketInodes(clientPort, serverPort).Select(i => $"socket:[{i}]").ToHashSet();
        if (inodes.Count == 0)
            return false;
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd")
                .Any(fd => TryLinkTarget(fd) is { } target && inodes.Contains(target));
        }
        catch (Exception e) when (e is DirectoryNotFoundException or UnauthorizedAccessException or IOException)
        {
            return false; // the process is gone
        }
    }

    private static string? TryLinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // the descriptor was closed meanwhile
        }
    }

    /// <summary>Inodes of sockets whose local port is <paramref name="clientPort"/> and remote port <paramref name="serverPort"/> (IPv4 and IPv6 tables).</summary>
    private static IEnumerable<string> ClientSocketInodes(int clientPort, int serverPort)
    {
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(table))
                continue;
            foreach (var line in File.ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && Port(fields[1]) == clientPort && Port(fields[2]) == serverPort && fields[9] != "0")
                    yield return fields[9];
            }
        }
    }

    private static int Port(string hostAndPort) =>
        int.Parse(hostAndPort.AsSpan(hostAndPort.LastIndexOf(':') + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
