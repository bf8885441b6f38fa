using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Abpa3.Web.Endpoints;

/// <summary>
/// The owner's web UI: plain HTML, CSS and JavaScript modules from <c>wwwroot/</c>, embedded in this assembly so
/// every node serves them from its own edge, offline, with no build step and nothing fetched from elsewhere.
/// Each file is one explicit route (no catch-all), so unknown paths and the API keep their problem+json 404s.
/// </summary>
public static class WebUi
{
    /// <summary>
    /// Self-only: no inline script or style, nothing from another origin; images also from <c>blob:</c> (the QR code,
    /// fetched with the bearer token) and <c>data:</c>; the page cannot be framed.
    /// </summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        + "font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string ResourcePrefix = "wwwroot/";

    public sealed record UiFile(string Path, byte[] Content, string ContentType, string ETag);

    /// <summary>Every embedded UI file by its URL path (<c>/index.html</c>, <c>/js/app.js</c>, …).</summary>
    public static FrozenDictionary<string, UiFile> Files { get; } = Load();

    public static IEndpointRouteBuilder MapWebUi(this IEndpointRouteBuilder routes)
    {
        foreach (var file in Files.Values)
            routes.MapGet(file.Path, (HttpContext context) => Serve(context, file)).AllowAnonymous();
        if (Files.TryGetValue("/index.html", out var index))
            routes.MapGet("/", (HttpContext context) => Serve(context, index)).AllowAnonymous();
        return routes;
    }

    private static IResult Serve(HttpContext context, UiFile file)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        // Revalidated on every load (cheap: 304), so a node that was updated never runs yesterday's script.
        headers.CacheControl = "no-cache";
        headers.ETag = file.ETag;
        if (context.Request.Headers.IfNoneMatch.Contains(file.ETag))
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        return TypedResults.Bytes(file.Content, file.ContentType);
    }

    private static FrozenDictionary<string, UiFile> Load()
    {
        var assembly = typeof(WebUi).Assembly;
        var files = new Dictionary<string, UiFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            var normalized = name.Replace('\\', '/');
            if (!normalized.StartsWith(ResourcePrefix, StringComparison.Ordinal))
                continue;
            var path = "/" + normalized[ResourcePrefix.Length..];
            var content = Read(assembly, name);
            var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"";
            files[path] = new UiFile(path, content, ContentType(path), etag);
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string ContentType(string path) => Path.GetExtension(path) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".json" or ".webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    };
}
