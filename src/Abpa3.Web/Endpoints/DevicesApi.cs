using System.Text.Json.Serialization;
using Abpa3.Actors.Device;
using Abpa3.Web.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Abpa3.Web.Endpoints;

/// <summary><c>/api/devices</c>: the device's public description.</summary>
public static class DevicesApi
{
    /// <summary>SPEC §4 <c>GET /api/devices/info</c>: public, no secrets, no list of peers.</summary>
    public sealed record DeviceInfoResponse(
        [property: JsonPropertyName("device_id")] string DeviceId,
        [property: JsonPropertyName("serial_number")] string SerialNumber,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("ip_address")] string IpAddress,
        [property: JsonPropertyName("state")] string State,
        [property: JsonPropertyName("is_manager")] bool IsManager,
        [property: JsonPropertyName("manager_device_id")] string? ManagerDeviceId,
        [property: JsonPropertyName("cert_sha256")] string CertSha256)
    {
        public static DeviceInfoResponse From(DeviceMessages.DeviceInfo info, string ipAddress) => new(
            info.DeviceId, info.SerialNumber, info.Name, ipAddress,
            DeviceLifecycle.Describe(info.Lifecycle.State), info.Lifecycle.IsManager,
            info.Lifecycle.ManagerDeviceId?.Value, info.CertSha256);
    }

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var devices = routes.MapGroup("/api/devices");
        devices.MapGet("/info", GetInfo).AllowAnonymous();
        return routes;
    }

    private static async Task<IResult> GetInfo(HttpContext context, DeviceGateway gateway)
    {
        var info = (DeviceMessages.DeviceInfo)await gateway.AskAsync(DeviceMessages.GetDeviceInfo.Instance, context.RequestAborted);
        return TypedResults.Ok(DeviceInfoResponse.From(info, LocalAddress(context)));
    }

    /// <summary>The address the caller reached this node at: the one that works from where it stands.</summary>
    public static string LocalAddress(HttpContext context) =>
        ClientAddress.Normalize(context.Connection.LocalIpAddress)?.ToString() ?? "";
}
