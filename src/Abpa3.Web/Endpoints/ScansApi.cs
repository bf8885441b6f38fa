using System.Text.Json;
using System.Text.Json.Serialization;
using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Scans;
using Abpa3.Actors.Sensor;
using Abpa3.Web.Auth;
using Abpa3.Web.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Abpa3.Web.Endpoints;

/// <summary>Scans on a manager (SPEC §4, §7): start one across paired sensors, watch it, read its result, cancel it.</summary>
public static class ScansApi
{
    public const int MaxSensorsPerScan = 64;

    public sealed record StartRequest(
        [property: JsonPropertyName("sensors")] string[]? Sensors,
        [property: JsonPropertyName("params")] JsonElement? Params);

    public sealed record StartResponse([property: JsonPropertyName("scan_id")] string ScanId);

    public sealed record ParamsView(
        [property: JsonPropertyName("width")] int Width,
        [property: JsonPropertyName("height")] int Height,
        [property: JsonPropertyName("segments")] int Segments,
        [property: JsonPropertyName("seed")] long Seed,
        [property: JsonPropertyName("rows_per_second")] double RowsPerSecond);

    public sealed record SensorView(
        [property: JsonPropertyName("device_id")] string DeviceId,
        [property: JsonPropertyName("online")] bool Online,
        [property: JsonPropertyName("segments_assigned")] int SegmentsAssigned,
        [property: JsonPropertyName("segments_done")] int SegmentsDone);

    public sealed record SegmentView(
        [property: JsonPropertyName("segment")] int Segment,
        [property: JsonPropertyName("sensor")] string? Sensor,
        [property: JsonPropertyName("state")] string State);

    public sealed record ScanResponse(
        [property: JsonPropertyName("scan_id")] string ScanId,
        [property: JsonPropertyName("state")] string State,
        [property: JsonPropertyName("progress")] double Progress,
        [property: JsonPropertyName("params")] ParamsView Params,
        [property: JsonPropertyName("sensors")] IReadOnlyList<SensorView> Sensors,
        [property: JsonPropertyName("segments")] IReadOnlyList<SegmentView>? Segments,
        [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
        [property: JsonPropertyName("finished_at")] DateTimeOffset? FinishedAt)
    {
        public static ScanResponse From(ScanProtocol.ScanView view, bool withSegments = true)
        {
            var s = view.State;
            var p = s.Parameters;
            return new ScanResponse(s.ScanId, ScanViews.Describe(s, view.Paused), s.Progress,
                new ParamsView(p.Width, p.Height, p.Segments, p.Seed, p.RowsPerSecond),
                s.Sensors.Select(id => new SensorView(id, view.OnlineSensors.Contains(id),
                    s.Segments.Count(x => !x.Done && x.Sensor == id), s.Segments.Count(x => x.Done && x.Sensor == id))).ToList(),
                withSegments
                    ? s.Segments.Select((x, i) => new SegmentView(i, x.Sensor, x.Done ? "done" : x.Sensor is null ? "waiting" : "assigned")).ToList()
                    : null,
                s.StartedAt, s.FinishedAt);
        }
    }

    public sealed record ScanListResponse([property: JsonPropertyName("scans")] IReadOnlyList<ScanResponse> Scans);

    public static IEndpointRouteBuilder MapScans(this IEndpointRouteBuilder routes)
    {
        var scans = routes.MapGroup("/api/scans").RequireAuthorization(Roles.OwnerOrAdminPolicy);
        scans.MapPost("", Start);
        scans.MapGet("", List);
        scans.MapGet("/{scanId}", Get);
        scans.MapGet("/{scanId}/data", Data);
        scans.MapPost("/{scanId}/cancel", Cancel);
        return routes;
    }

    private static async Task<IResult> Start(HttpContext context, DeviceGateway gateway, EdgeSettings edge)
    {
        var body = await JsonBody.ReadAsync<StartRequest>(context.Request, edge.MaxRequestBody);
        if (body.Problem is not null)
            return body.Problem;
        var request = body.Value!;
        var info = (DeviceMessages.DeviceInfo)await gateway.AskAsync(DeviceMessages.GetDeviceInfo.Instance, context.RequestAborted);
        if (info.Lifecycle.Role != DeviceRole.Manager)
            return Problems.Conflict("this device is not a manager; pair a sensor with it first");

        if (ScanParameters.Parse(request.Params, out var paramErrors) is not { } parameters)
            return Problems.Invalid(paramErrors.ToDictionary(e => $"params.{e.Key}", e => e.Value));
        var peers = (PairingQueries.PeerList)await gateway.AskAsync(PairingQueries.ListPeers.Instance, context.RequestAborted);
        var paired = peers.Peers.Where(p => p is { Role: PeerRole.Sensor, Revoked: false, Pending: false }).Select(p => p.DeviceId).ToList();
        List<string> sensors;
        if (request.Sensors is null)
        {
            if (paired.Count == 0)
                return Problems.Conflict("this manager has no paired sensors");
            sensors = paired;
        }
        else
        {
            var unknown = request.Sensors.Where(id => !paired.Contains(id)).ToList();
            if (request.Sensors.Length is 0 or > MaxSensorsPerScan || unknown.Count > 0 || request.Sensors.Distinct().Count() != request.Sensors.Length)
                return Problems.Invalid(new Dictionary<string, string[]>
                {
                    ["sensors"] = [unknown.Count > 0
                        ? $"not paired sensors of this manager: {string.Join(", ", unknown.Take(5).Select(u => u.Length > 64 ? u[..64] : u))}"
                        : $"1–{MaxSensorsPerScan} distinct paired sensor ids (or leave out for all)"],
                });
            sensors = [.. request.Sensors];
        }

        var scanId = ScanIds.New();
        return await gateway.AskAsync(new ScanProtocol.StartScan(scanId, parameters, sensors), context.RequestAborted) switch
        {
            ScanProtocol.ScanAccepted accepted => TypedResults.Accepted($"/api/scans/{accepted.ScanId}", new StartResponse(accepted.ScanId)),
            ScanProtocol.ScanRefused refused => Problems.Conflict(refused.Reason),
            var other => throw new InvalidOperationException($"unexpected reply {other.GetType().Name}"),
        };
    }

    private static async Task<IResult> List(HttpContext context, DeviceGateway gateway)
    {
        var list = (ScanProtocol.ScanList)await gateway.AskAsync(ScanProtocol.ListScans.Instance, context.RequestAborted);
        return TypedResults.Ok(new ScanListResponse(list.Scans.Select(v => ScanResponse.From(v, withSegments: false)).ToList()));
    }

    private static async Task<IResult> Get(string scanId, HttpContext context, DeviceGateway gateway) =>
        !ScanIds.IsValid(scanId)
            ? NotFound()
            : await gateway.AskAsync(new ScanProtocol.GetScan(scanId), context.RequestAborted) switch
            {
                ScanProtocol.ScanView view => TypedResults.Ok(ScanResponse.From(view)),
                _ => NotFound(),
            };

    /// <summary>
    /// The assembled result once the scan completed (409 before). With <c>?partial=true</c>, what has arrived so far
    /// (rows of unfinished segments are zero), for a live view; <c>X-Segments-Done</c> says how much that is.
    /// </summary>
    private static async Task<IResult> Data(string scanId, HttpContext context, DeviceGateway gateway, bool? partial)
    {
        if (!ScanIds.IsValid(scanId))
            return NotFound();
        var reply = await gateway.AskAsync(new ScanProtocol.GetScanData(scanId), context.RequestAborted);
        if (reply is ScanProtocol.ScanData { } snapshot)
            context.Response.Headers["X-Segments-Done"] = $"{snapshot.State.DoneCount}/{snapshot.State.Segments.Length}";
        return reply switch
        {
            ScanProtocol.ScanData { State.Phase: ScanPhase.Completed } data => TypedResults.Bytes(data.Data, "application/octet-stream"),
            ScanProtocol.ScanData data when partial == true => TypedResults.Bytes(data.Data, "application/octet-stream"),
            ScanProtocol.ScanData data => Problems.Conflict(
                $"the scan is {ScanViews.Describe(data.State, data.State.Paused)} ({data.State.DoneCount} of {data.State.Segments.Length} segments); "
                + "its result exists once it has completed"),
            _ => NotFound(),
        };
    }

    private static async Task<IResult> Cancel(string scanId, HttpContext context, DeviceGateway gateway) =>
        !ScanIds.IsValid(scanId)
            ? NotFound()
            : await gateway.AskAsync(new ScanProtocol.CancelScan(scanId), context.RequestAborted) switch
            {
                ScanProtocol.ScanView view => TypedResults.Ok(ScanResponse.From(view)),
                _ => NotFound(),
            };

    private static IResult NotFound() => Problems.Status(StatusCodes.Status404NotFound, "Not found", "no such scan");
}
