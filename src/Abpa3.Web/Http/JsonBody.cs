using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Abpa3.Web.Http;

/// <summary>
/// Reads a JSON request body with the edge's rules: JSON content type, bounded size, well-formed,
/// an object. Anything else is a problem result, never an exception.
/// </summary>
public static class JsonBody
{
    private static readonly JsonSerializerOptions Options = new()
    {
        MaxDepth = 16,
        AllowTrailingCommas = false,
        ReadCommentHandling = JsonCommentHandling.Disallow,
        PropertyNameCaseInsensitive = false,
    };

    public readonly record struct Result<T>(T? Value, ProblemHttpResult? Problem) where T : class;

    public static async Task<Result<T>> ReadAsync<T>(HttpRequest request, long maxBytes) where T : class
    {
        if (!request.HasJsonContentType())
            return new(null, Problems.Malformed("Send the body as application/json."));
        if (request.ContentLength > maxBytes)
            return new(null, Problems.TooLarge($"The body may have at most {maxBytes} bytes."));
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, Options, request.HttpContext.RequestAborted);
            return value is null
                ? new(null, Problems.Malformed("The body must be a JSON object."))
                : new(value, null);
        }
        catch (JsonException e)
        {
            return new(null, Problems.Malformed($"The body is not valid JSON for this request: {e.Message}"));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new(null, Problems.TooLarge($"The body may have at most {maxBytes} bytes."));
        }
    }
}
