using Akka.Actor;

namespace Abpa3.Actors.Sensor;

/// <summary>Messages the <see cref="SensorActor"/> answers.</summary>
public static class SensorProtocol
{
    /// <summary>Run a whole scan on this sensor. Answered with <see cref="ScanAccepted"/> or <see cref="ScanRefused"/>.</summary>
    public sealed record StartScan(string ScanId, ScanParameters Parameters);

    public sealed record ScanAccepted(string ScanId);

    public sealed record ScanRefused(string Reason);

    /// <summary>Answered with <see cref="Status"/>.</summary>
    public sealed class GetStatus
    {
        public static readonly GetStatus Instance = new();
        private GetStatus() { }
    }

    public sealed record ScanStatus(string ScanId, string State, int RowsDone, int RowsTotal, DateTimeOffset StartedAt, DateTimeOffset? FinishedAt);

    public sealed record Status(bool Scanning, ScanStatus? LastScan);
}

/// <summary>
/// The sensor's own scanning (seed 004's <c>/api/sensors/scan/start</c>): runs one scan at a time
/// through the configured driver at the scan's row rate, and reports its progress.
/// </summary>
public sealed class SensorActor : ReceiveActor, IWithTimers
{
    private sealed class Tick
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }

    private readonly ISensorDriver _driver;
    private readonly SensorSettings _settings;
    private readonly TimeProvider _clock;
    private SensorProtocol.StartScan? _scan;
    private SensorProtocol.ScanStatus? _status;
    private byte[] _result = [];

    public SensorActor(ISensorDriver driver, SensorSettings settings, TimeProvider clock)
    {
        _driver = driver;
        _settings = settings;
        _clock = clock;
        Receive<SensorProtocol.StartScan>(start =>
        {
            if (_status is { State: "running" } running)
            {
                Sender.Tell(new SensorProtocol.ScanRefused($"scan {running.ScanId} is still running"));
                return;
            }
            _scan = start;
            _result = new byte[start.Parameters.TotalBytes];
            _status = new SensorProtocol.ScanStatus(start.ScanId, "running", 0, start.Parameters.Height, _clock.GetUtcNow(), null);
            Timers.StartPeriodicTimer(nameof(Tick), Tick.Instance, _settings.Tick);
            Sender.Tell(new SensorProtocol.ScanAccepted(start.ScanId));
        });
        Receive<Tick>(_ => Advance());
        Receive<SensorProtocol.GetStatus>(_ => Sender.Tell(new SensorProtocol.Status(_status?.State == "running", _status)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Reads the rows due by now at the scan's rate.</summary>
    private void Advance()
    {
        if (_scan is null || _status is null)
            return;
        var parameters = _scan.Parameters;
        var elapsed = (_clock.GetUtcNow() - _status.StartedAt).TotalSeconds;
        var due = (int)Math.Min(parameters.Height, Math.Floor(elapsed * parameters.RowsPerSecond));
        if (due > _status.RowsDone)
        {
            _driver.ReadRows(parameters, _status.RowsDone, due).CopyTo(_result, (long)_status.RowsDone * parameters.Width);
            _status = _status with { RowsDone = due };
        }
        if (_status.RowsDone == parameters.Height)
        {
            _status = _status with { State = "completed", FinishedAt = _clock.GetUtcNow() };
            Timers.Cancel(nameof(Tick));
        }
    }

    public static Props Props(ISensorDriver driver, SensorSettings settings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new SensorActor(driver, settings, clock));
}
