using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Abpa3.Web.Http;

/// <summary>RFC 7807 answers with the SPEC's status codes.</summary>
public static class Problems
{
    public static ProblemHttpResult Status(int status, string title, string detail) =>
        TypedResults.Problem(new ProblemDetails { Status = status, Title = title, Detail = detail });

    public static ProblemHttpResult Malformed(string detail) => Status(StatusCodes.Status400BadRequest, "Malformed request", detail);

    public static ProblemHttpResult Unauthenticated(string detail) => Status(StatusCodes.Status401Unauthorized, "Unauthenticated", detail);

    public static ProblemHttpResult Forbidden(string detail) => Status(StatusCodes.Status403Forbidden, "Forbidden", detail);

    public static ProblemHttpResult Conflict(string detail) => Status(StatusCodes.Status409Conflict, "Wrong state", detail);

    public static ProblemHttpResult TooLarge(string detail) => Status(StatusCodes.Status413PayloadTooLarge, "Request too large", detail);

    public static ProblemHttpResult Unavailable(string detail) => Status(StatusCodes.Status503ServiceUnavailable, "Node busy", detail);

    /// <summary>422 with the offending fields, for well-formed JSON whose values are not acceptable.</summary>
    public static ProblemHttpResult Invalid(IDictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = "Invalid request",
            Detail = "One or more fields are missing or not acceptable.",
        });
}
