using System.Net;
using Microsoft.AspNetCore.Http;

namespace Abpa3.Web.Http;

/// <summary>The address a request came from, as the key for per-client limits.</summary>
public static class ClientAddress
{
    /// <summary>
    /// The partition key for per-client limits: an IPv4 address, or an IPv6 address's /64 prefix,
    /// since one LAN host can take any number of addresses inside its /64.
    /// </summary>
    public static string Of(HttpContext context) => PartitionKey(context.Connection.RemoteIpAddress);

    /// <summary>The same key for any address (HTTP requests and raw connections share it).</summary>
    public static string PartitionKey(IPAddress? remote)
    {
        var address = Normalize(remote);
        if (address is null)
            return "unknown";
        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    public static IPAddress? Normalize(IPAddress? address) =>
        address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;

    public static bool IsLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(Normalize(address)!);
}
