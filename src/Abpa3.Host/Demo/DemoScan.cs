using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Abpa3.Actors.Sensor;

namespace Abpa3.Host.Demo;

/// <summary>
/// The demo's scan (SPEC §7): started on the manager across all its paired sensors through
/// <c>POST /api/scans</c>, followed live on the manager's sync channel (topic <c>scans</c>) with a progress
/// bar, overall and per sensor, and checked once complete: the assembled bytes from
/// <c>GET /api/scans/{id}/data</c> must be exactly what the simulated driver produces for the same parameters.
/// </summary>
public sealed class DemoScan(DemoNode manager, IReadOnlyList<DemoNode> sensors, TextWriter output, bool terminal)
{
    /// <summary>
    /// 64×64 samples in 8 segments of 8 rows. Each sensor runs its segments one after another at
    /// <c>rows_per_second</c>, so at 10 rows/s two sensors take about 3 s (4 segments of 0.8 s each): long
    /// enough to watch, short enough to wait for.
    /// </summary>
    public static readonly ScanParameters Parameters = new(Width: 64, Height: 64, Segments: 8, Seed: 1, RowsPerSecond: 10);

    /// <summary>How long the demo follows the scan before it says so and lets it carry on without it.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Without an event for this long, the demo asks <c>GET /api/scans/{id}</c> rather than trust the silence.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Lines of the progress block on the terminal, to move back over when it is drawn again.</summary>
    private int _drawn;

    /// <summary>True when stdout is a terminal that can redraw lines in place; a pipe or a log gets one line per change.</summary>
    public static bool IsTerminal() => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb";

    public async Task RunAsync(string token, CancellationToken cancellationToken)
    {
        await NoteEarlierScansAsync(token, cancellationToken);

        // Subscribed before the scan starts, so the feed sees every change of it.
        ScanFeed? feed = null;
        try
        {
            feed = await ScanFeed.OpenAsync(manager, token, cancellationToken);
        }
        catch (Exception e) when (e is WebSocketException or JsonException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await Note($"the manager's sync channel did not open ({e.Message}); following the scan with GET /api/scans/{{id}} instead");
        }
        try
        {
            await RunAsync(feed, token, cancellationToken);
        }
        finally
        {
            if (feed is not null)
                await feed.DisposeAsync();
        }
    }

    private async Task RunAsync(ScanFeed? feed, string token, CancellationToken cancellationToken)
    {
        var p = Parameters;
        var started = await manager.PostAsync("/api/scans",
            new { @params = new { width = p.Width, height = p.Height, segments = p.Segments, seed = p.Seed, rows_per_second = p.RowsPerSecond } },
            token, "starting a scan on the manager", cancellationToken);
        var scanId = started["scan_id"]!.GetValue<string>();
        var path = $"/api/scans/{scanId}";
        var scan = await manager.GetAsync(path, token, $"reading scan {scanId}", cancellationToken);
        var progress = new ScanProgress(scanId, p.Segments,
            scan["sensors"]!.AsArray().Select(s => s!["device_id"]!.GetValue<string>()), Label);

        await output.WriteLineAsync($"scan {scanId} across {string.Join(" and ", progress.Sensors.Select(Label))}: "
                                    + $"{p.Width}x{p.Height} samples in {p.Segments} segments of {p.Height / p.Segments} rows, "
                                    + $"seed {p.Seed}, {p.RowsPerSecond:0.##} rows/s per sensor (POST /api/scans)");
        await output.WriteLineAsync(feed is null
            ? $"  progress from GET {path} every {PollInterval.TotalSeconds:0.#} s" + (terminal ? ":" : ", one line per change:")
            : $"  progress from the manager's sync channel (/ws, topic \"scans\")" + (terminal ? ":" : ", one line per change:"));

        var deadline = DateTime.UtcNow + Patience;
        while (!progress.Finished && DateTime.UtcNow < deadline)
        {
            if (feed is null)
            {
                await Task.Delay(PollInterval, cancellationToken);
                await CatchUpAsync(progress, path, token, $"GET {path}", cancellationToken);
                continue;
            }
            switch (await NextAsync(feed, cancellationToken))
            {
                case ScanFeed.Item.Change change:
                    if (progress.Apply(change.Data))
                        await ShowAsync(progress);
                    break;
                case ScanFeed.Item.Gap:
                    await CatchUpAsync(progress, path, token, "caught up from GET (the sync channel lost events)", cancellationToken);
                    break;
                case null when feed.Items.Completion.IsCompleted:
                    await Note($"the sync channel ended ({feed.Ended}); following the scan with GET {path} instead");
                    feed = null; // closed already; disposed by the caller
                    break;
                case null:
                    await CatchUpAsync(progress, path, token, $"no event for {Quiet.TotalSeconds:0} s; checked GET {path}", cancellationToken);
                    break;
            }
        }

        if (!progress.Finished)
        {
            await output.WriteLineAsync($"scan {scanId} is still {progress.State} after {Patience.TotalSeconds:0} s "
                                        + $"({progress.Done} of {progress.Total} segments); the mesh carries on with it without the demo watching");
            await PrintUrlsAsync(path);
            return;
        }
        if (progress.State != "completed")
            throw new DemoException($"scan {scanId} ended {progress.State} after {progress.Done} of {progress.Total} segments; see GET {manager.Url}{path}");
        await VerifyAsync(scanId, path, token, cancellationToken);
        await PrintUrlsAsync(path);
    }

    /// <summary>A scan an earlier run left unfinished resumed with the manager: the new scan shares the sensors with it, and takes longer.</summary>
    private async Task NoteEarlierScansAsync(string token, CancellationToken cancellationToken)
    {
        var list = await manager.GetAsync("/api/scans", token, "listing the manager's scans", cancellationToken);
        foreach (var earlier in list["scans"]?.AsArray().OfType<JsonObject>() ?? [])
            if (earlier["state"]?.GetValue<string>() is "running" or "paused")
                await Note($"scan {earlier["scan_id"]} from an earlier run is {earlier["state"]} "
                           + $"({earlier["progress"]?.GetValue<double>() * 100:0}% done); it carries on, sharing the sensors with the new one");
    }

    /// <summary>The next item, or null after <see cref="Quiet"/> without one or once the feed has ended.</summary>
    private static async Task<ScanFeed.Item?> NextAsync(ScanFeed feed, CancellationToken cancellationToken)
    {
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quiet.CancelAfter(Quiet);
        try
        {
            return await feed.Items.WaitToReadAsync(quiet.Token) && feed.Items.TryRead(out var item) ? item : null;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private async Task CatchUpAsync(ScanProgress progress, string path, string token, string how, CancellationToken cancellationToken)
    {
        var scan = await manager.GetAsync(path, token, $"reading scan {progress.ScanId}", cancellationToken);
        if (progress.Apply(scan, how))
            await ShowAsync(progress);
    }

    /// <summary>The assembled result against the simulated driver's own output for the same parameters.</summary>
    private async Task VerifyAsync(string scanId, string path, string token, CancellationToken cancellationToken)
    {
        var scan = await manager.GetAsync(path, token, $"reading scan {scanId}", cancellationToken);
        var data = await manager.GetBytesAsync($"{path}/data", token, $"reading scan {scanId}'s result", cancellationToken);
        var expected = new SimulatedDriver().ReadRows(Parameters, 0, Parameters.Height);
        var sha = Convert.ToHexStringLower(SHA256.HashData(data));
        if (!data.AsSpan().SequenceEqual(expected))
        {
            var at = data.AsSpan().CommonPrefixLength(expected);
            throw new DemoException($"scan {scanId} completed, but its {data.Length} bytes (sha256 {sha}) are not what the simulated driver "
                                    + $"produces ({expected.Length} bytes, sha256 {Convert.ToHexStringLower(SHA256.HashData(expected))}; "
                                    + $"they differ from byte {at}); see GET {manager.Url}{path}");
        }
        await output.WriteLineAsync($"scan {scanId} completed: {data.Length} bytes, matches the simulated driver (sha256 {sha})");

        var segments = scan["segments"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
        var bySensor = segments.Where(s => s["state"]?.GetValue<string>() == "done")
            .GroupBy(s => s["sensor"]?.GetValue<string>() ?? "?")
            .Select(g => $"{Label(g.Key)} did segments {string.Join(", ", g.Select(s => s["segment"]))}");
        var took = scan["finished_at"]?.GetValue<DateTimeOffset>() - scan["started_at"]?.GetValue<DateTimeOffset>();
        await output.WriteLineAsync($"  {string.Join("; ", bySensor)}" + (took is { } t ? $"; {t.TotalSeconds:0.0} s from start to finish" : ""));
    }

    private async Task PrintUrlsAsync(string path)
    {
        await output.WriteLineAsync("  the scan and its bytes, with $TOKEN from above:");
        await output.WriteLineAsync($"  curl -sk {manager.Url}{path} -H \"authorization: Bearer $TOKEN\"");
        await output.WriteLineAsync($"  curl -sk {manager.Url}{path}/data -H \"authorization: Bearer $TOKEN\" -o scan.bin");
        await output.WriteLineAsync();
    }

    /// <summary>On a terminal the block is drawn again in place; elsewhere each change is one more line, without escape codes.</summary>
    private async Task ShowAsync(ScanProgress progress)
    {
        if (!terminal)
        {
            await output.WriteLineAsync(progress.Line());
            return;
        }
        if (_drawn > 0)
            await output.WriteAsync($"\e[{_drawn}A\r");
        var lines = progress.Block();
        foreach (var line in lines)
            await output.WriteAsync($"\e[2K{line}\n");
        _drawn = lines.Count;
        await output.FlushAsync();
    }

    /// <summary>A note between progress lines; on a terminal the block is drawn afresh below it.</summary>
    private async Task Note(string text)
    {
        await output.WriteLineAsync($"  note: {text}");
        _drawn = 0;
    }

    private string Label(string deviceId) => sensors.FirstOrDefault(s => s.DeviceId == deviceId)?.Key ?? deviceId;
}
