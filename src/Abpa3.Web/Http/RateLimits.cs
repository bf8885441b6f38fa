using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Abpa3.Web.Http;

/// <summary>Per-client-address limits on the endpoints an attacker would hammer (ASP.NET's rate limiter).</summary>
public static class RateLimits
{
    public const string Login = "login";
    public const string Setup = "setup";
    public const string Pair = "pair";
    public const string Socket = "socket";
    public const string DevicePair = "device-pair";

    public static IServiceCollection AddEdgeRateLimits(this IServiceCollection services, EdgeSettings settings,
        Abpa3.Actors.Pairing.DevicePairingSettings devicePairing) =>
        services.AddRateLimiter(options =>
        {
            options.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            options.OnRejected = async (context, cancellationToken) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                    context.HttpContext.Response.Headers.RetryAfter =
                        Math.Ceiling(retryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                var problems = context.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context.HttpContext,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = "Too many attempts from this address; wait and try again.",
                    },
                });
            };
            options.AddPolicy(Login, context => PerAddress(context, settings.LoginPermits, settings.LoginWindow));
            options.AddPolicy(Setup, context => PerAddress(context, settings.SetupPermits, settings.SetupWindow));
            options.AddPolicy(Pair, context => PerAddress(context, settings.PairPermits, settings.PairWindow));
            options.AddPolicy(Socket, context => PerAddress(context, settings.SocketPermits, settings.SocketWindow));
            options.AddPolicy(DevicePair, context => PerAddress(context, devicePairing.RequestPermits, devicePairing.RequestWindow));
        });

    private static RateLimitPartition<string> PerAddress(HttpContext context, int permits, TimeSpan window) =>
        RateLimitPartition.GetFixedWindowLimiter(ClientAddress.Of(context), _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = permits,
            Window = window,
            QueueLimit = 0,
        });
}
