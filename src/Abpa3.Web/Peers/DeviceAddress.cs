using System.Net;

namespace Abpa3.Web.Peers;

/// <summary>
/// Where another device's edge is, from what an owner types: <c>host</c>, <c>host:port</c>, <c>[v6]</c> or
/// <c>[v6]:port</c>. No scheme, path, query or credentials; the port defaults to the edge's standard 8000.
/// </summary>
public sealed record DeviceAddress(string Host, int Port)
{
    public const int DefaultPort = 8000;
    public const int MaxLength = 300;

    public static bool TryParse(string? text, out DeviceAddress? address, out string problem)
    {
        address = null;
        problem = "give an IP address or host name, optionally with :port (for example 192.168.1.11 or 192.168.1.11:8000)";
        if (string.IsNullOrWhiteSpace(text) || text.Length > MaxLength || text.Any(c => char.IsWhiteSpace(c) || c is '/' or '@' or '?' or '#' or '\\'))
            return false;
        // A bare IPv6 address has colons but no brackets.
        if (IPAddress.TryParse(text, out var bare) && bare.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            address = new DeviceAddress(bare.ToString(), DefaultPort);
            return true;
        }
        if (!Uri.TryCreate($"http://{text}", UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || uri.Host.Length == 0)
            return false;
        var explicitPort = text.EndsWith(":" + uri.Port, StringComparison.Ordinal);
        var port = explicitPort ? uri.Port : DefaultPort;
        if (port is < 1 or > 65535)
            return false;
        address = new DeviceAddress(uri.IdnHost.Trim('[', ']'), port);
        return true;
    }

    public Uri BaseUri(bool tls) =>
        new UriBuilder(tls ? "https" : "http", IPAddress.TryParse(Host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Host}]" : Host, Port).Uri;

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
