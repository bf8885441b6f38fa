using Akka.Actor;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;

namespace Abpa3.Web.Http;

/// <summary>
/// Last line of the edge: a request that fails in an unexpected way still gets a problem+json answer.
/// A busy actor becomes 503, a bad request its own 4xx; only a real bug is a 500, without details.
/// </summary>
public sealed class EdgeExceptionHandler(IProblemDetailsService problems, ILogger<EdgeExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        var (status, title, detail) = exception switch
        {
            AskTimeoutException or NodeBusyException =>
                (StatusCodes.Status503ServiceUnavailable, "Node busy", "The node did not answer in time; try again."),
            BadHttpRequestException bad => (bad.StatusCode, "Bad request", bad.Message),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "Client closed request", ""),
            _ => (StatusCodes.Status500InternalServerError, "Internal error", "The node could not complete this request."),
        };
        if (status >= 500)
            log.LogError(exception, "Request {Method} {Path} failed", context.Request.Method, context.Request.Path);
        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }
}
