using System.Net;
using Microsoft.AspNetCore.Http;

namespace Abpa3.Web.Http;

/// <summary>The address a request came from, as the key for per-client limits.</summary>
public static class ClientAddress
{
    public static string Of(HttpContext context) => Normalize(context.Connection.RemoteIpAddress)?.ToString() ?? "unknown";

    public static IPAddress? Normalize(IPAddress? address) =>
        address is { IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;

    public static bool IsLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(Normalize(address)!);
}
