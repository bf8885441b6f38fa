using System.Text.Json;
using System.Text.Json.Serialization;
using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Sensor;
using Abpa3.Web.Auth;
using Abpa3.Web.Http;
using Abpa3.Web.Peers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Abpa3.Web.Endpoints;

/// <summary>
/// Seed 004's sensor API, for the sensor's manager only (signed device headers, SPEC §5):
/// start a scan, read the status, shut the device down. The manager reaches it through
/// <c>GET /api/devices/{id}/status</c>.
/// </summary>
public static class SensorApi
{
    public sealed record ScanStartRequest(
        [property: JsonPropertyName("scan_id")] string? ScanId,
        [property: JsonPropertyName("params")] JsonElement? Params);

    public sealed record ScanStartResponse(
        [property: JsonPropertyName("status")] string Status,
        [property: JsonPropertyName("scan_id")] string ScanId);

    public sealed record ScanStatusResponse(
        [property: JsonPropertyName("scan_id")] string ScanId,
        [property: JsonPropertyName("state")] string State,
        [property: JsonPropertyName("rows_done")] int RowsDone,
        [property: JsonPropertyName("rows_total")] int RowsTotal,
        [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
        [property: JsonPropertyName("finished_at")] DateTimeOffset? FinishedAt);

    public sealed record StatusResponse(
        [property: JsonPropertyName("device_id")] string DeviceId,
        [property: JsonPropertyName("state")] string State,
        [property: JsonPropertyName("manager_device_id")] string? ManagerDeviceId,
        [property: JsonPropertyName("scanning")] bool Scanning,
        [property: JsonPropertyName("last_scan")] ScanStatusResponse? LastScan,
        [property: JsonPropertyName("segments_queued")] int SegmentsQueued,
        [property: JsonPropertyName("results_unacknowledged")] int ResultsUnacknowledged);

    public sealed record ShutdownResponse([property: JsonPropertyName("status")] string Status);

    public static IEndpointRouteBuilder MapSensor(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/api/sensors/scan/start", StartScan).AllowAnonymous().AddEndpointFilter<DeviceSignature>();
        routes.MapGet("/api/sensors/status", Status).AllowAnonymous().AddEndpointFilter<DeviceSignature>();
        routes.MapPost("/api/system/shutdown", Shutdown).AllowAnonymous().AddEndpointFilter<DeviceSignature>();
        routes.MapGet("/api/devices/{deviceId}/status", SensorStatusForOwner).RequireAuthorization(Roles.OwnerOrAdminPolicy);
        return routes;
    }

    private static async Task<IResult> StartScan(HttpContext context, DeviceGateway gateway)
    {
        ScanStartRequest? request;
        try
        {
            var body = DeviceSignature.Body(context);
            request = body.Length == 0 ? new ScanStartRequest(null, null) : JsonSerializer.Deserialize<ScanStartRequest>(body);
        }
        catch (JsonException e)
        {
            return Problems.Malformed($"The body is not valid JSON for this request: {e.Message}");
        }
        if (request is null)
            return Problems.Malformed("The body must be a JSON object.");
        if (ScanParameters.Parse(request.Params, out var errors) is not { } parameters)
            return Problems.Invalid(errors.ToDictionary(e => $"params.{e.Key}", e => e.Value));
        if (request.ScanId is { } id && (id.Length is 0 or > 64 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            return Problems.Invalid(new Dictionary<string, string[]> { ["scan_id"] = ["1–64 of letters, digits, '-' and '_'"] });
        var scanId = request.ScanId ?? Guid.NewGuid().ToString("N");
        return await gateway.AskAsync(new SensorProtocol.StartScan(scanId, parameters), context.RequestAborted) switch
        {
            SensorProtocol.ScanAccepted accepted => TypedResults.Accepted("/api/sensors/status", new ScanStartResponse("started", accepted.ScanId)),
            SensorProtocol.ScanRefused refused => Problems.Conflict(refused.Reason),
            var other => throw new InvalidOperationException($"unexpected reply {other.GetType().Name}"),
        };
    }

    private static async Task<IResult> Status(HttpContext context, DeviceGateway gateway)
    {
        var info = (DeviceMessages.DeviceInfo)await gateway.AskAsync(DeviceMessages.GetDeviceInfo.Instance, context.RequestAborted);
        var status = (SensorProtocol.Status)await gateway.AskAsync(SensorProtocol.GetStatus.Instance, context.RequestAborted);
        // The manager's segment work: what is still to run, and results kept until the manager acknowledges them.
        var backlog = (SegmentWorkerQueries.Backlog)await gateway.AskAsync(SegmentWorkerQueries.GetBacklog.Instance, context.RequestAborted);
        return TypedResults.Ok(new StatusResponse(info.DeviceId, DeviceLifecycle.Describe(info.Lifecycle.State),
            info.Lifecycle.ManagerDeviceId?.Value, status.Scanning,
            status.LastScan is { } s ? new ScanStatusResponse(s.ScanId, s.State, s.RowsDone, s.RowsTotal, s.StartedAt, s.FinishedAt) : null,
            backlog.SegmentsQueued, backlog.ResultsUnacknowledged));
    }

    private static IResult Shutdown(HttpContext context, IHostApplicationLifetime lifetime)
    {
        // Stop once the answer is on its way, so the manager hears that the device is going down.
        context.Response.OnCompleted(() =>
        {
            lifetime.StopApplication();
            return Task.CompletedTask;
        });
        return TypedResults.Accepted((string?)null, new ShutdownResponse("shutting_down"));
    }

    /// <summary>The owner asks the manager; the manager asks its sensor over signed HTTP, pinned to the sensor's certificate.</summary>
    private static async Task<IResult> SensorStatusForOwner(string deviceId, HttpContext context, DeviceGateway gateway, DeviceHttpClient devices)
    {
        var peers = (PairingQueries.PeerList)await gateway.AskAsync(PairingQueries.ListPeers.Instance, context.RequestAborted);
        if (peers.Peers.FirstOrDefault(p => p.DeviceId == deviceId && p is { Role: PeerRole.Sensor, Revoked: false, Pending: false }) is not { } sensor)
            return Problems.Status(StatusCodes.Status404NotFound, "Not found", "no paired sensor with that id");
        try
        {
            using var response = await devices.SendSignedAsync(new Uri(sensor.HttpUrl), sensor.CertSha256, sensor.Keys(), HttpMethod.Get,
                "/api/sensors/status", null, context.RequestAborted);
            var text = await response.Content.ReadAsStringAsync(context.RequestAborted);
            if (!response.IsSuccessStatusCode)
                return Problems.Status(StatusCodes.Status502BadGateway, "Sensor refused", $"the sensor answered {(int)response.StatusCode}: {text}");
            return TypedResults.Text(text, "application/json");
        }
        catch (DeviceUnreachableException e)
        {
            return Problems.Status(e.TimedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway, "Sensor not reachable", e.Message);
        }
    }
}
