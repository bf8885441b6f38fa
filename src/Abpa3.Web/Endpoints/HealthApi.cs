using Abpa3.Actors.Device;
using Abpa3.Web.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Abpa3.Web.Endpoints;

/// <summary><c>/healthz</c>: liveness for supervisors on the device itself (loopback callers only).</summary>
public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/healthz", Healthz).AllowAnonymous();
        return routes;
    }

    private static async Task<IResult> Healthz(HttpContext context, DeviceGateway gateway)
    {
        if (!ClientAddress.IsLoopback(context))
            return Problems.Forbidden("Health checks are answered on the device's loopback interface only.");
        // Answered by the root actor, so "ok" means the actor system is up and recovered.
        await gateway.AskAsync(DeviceMessages.GetDeviceInfo.Instance, context.RequestAborted);
        return TypedResults.Ok(new { status = "ok" });
    }
}
