using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Abpa3.Actors.Identity;

namespace Abpa3.Host.Demo;

/// <summary>The ports one demo node listens on (0 = a free port).</summary>
public sealed record DemoPorts([property: JsonPropertyName("http")] int Http, [property: JsonPropertyName("remote")] int Remote)
{
    public static readonly DemoPorts Free = new(0, 0);
}

/// <summary>
/// What the demo keeps beside its three data directories (<c>&lt;data-dir&gt;/demo</c>): the owner's password,
/// and the ports each node had last time. Paired devices find each other at the address they last saw, so a
/// second run that gets the same ports back reconnects at once instead of re-pairing.
/// </summary>
public sealed class DemoFiles(string directory)
{
    public const string PasswordFile = "owner-password.txt";
    public const string PortsFile = "ports.json";
    private const string PasswordAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    private const int PasswordLength = 20; // about 115 bits

    public string Directory { get; } = Path.GetFullPath(directory);
    public string PasswordPath => Path.Combine(Directory, PasswordFile);
    public string PortsPath => Path.Combine(Directory, PortsFile);

    public string NodeDirectory(string key) => Path.Combine(Directory, key);

    /// <summary>The owner's password: generated on the first run, owner-only on disk, the same on every run after.</summary>
    public string LoadOrCreatePassword()
    {
        DataDirectory.Ensure(Directory);
        if (File.Exists(PasswordPath))
        {
            var stored = File.ReadAllText(PasswordPath).Trim();
            if (stored.Length == 0)
                throw new DemoException($"{PasswordPath} is empty; delete it along with {Directory} to start the demo afresh");
            DataDirectory.RestrictToOwner(PasswordPath);
            return stored;
        }
        var password = RandomNumberGenerator.GetString(PasswordAlphabet, PasswordLength);
        DataDirectory.WriteOwnerOnly(PasswordPath, Encoding.UTF8.GetBytes(password + "\n"));
        return password;
    }

    public IReadOnlyDictionary<string, DemoPorts> LoadPorts()
    {
        try
        {
            return File.Exists(PortsPath)
                ? JsonSerializer.Deserialize<Dictionary<string, DemoPorts>>(File.ReadAllText(PortsPath), JsonSerializerOptions.Web) ?? []
                : new Dictionary<string, DemoPorts>();
        }
        catch (JsonException)
        {
            return new Dictionary<string, DemoPorts>(); // only a hint: without it the nodes take other ports
        }
    }

    public void SavePorts(IReadOnlyDictionary<string, DemoPorts> ports) =>
        DataDirectory.WriteOwnerOnly(PortsPath, JsonSerializer.SerializeToUtf8Bytes(ports, new JsonSerializerOptions { WriteIndented = true }));

    /// <summary>Whether nothing listens on this loopback port now (0 always is). A hint only: another process may take it next.</summary>
    public static bool IsFree(int port)
    {
        if (port == 0)
            return true;
        try
        {
            var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            probe.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>A failure the demo explains in one line (then exits 1); <see cref="Status"/> when a node answered with an error.</summary>
public sealed class DemoException(string message, int? status = null) : Exception(message)
{
    public int? Status { get; } = status;
}
