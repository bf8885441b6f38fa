using System.Text;
using System.Text.Json.Nodes;

namespace Abpa3.Host.Demo;

/// <summary>
/// What the demo knows of one scan, folded from the manager's <c>scans</c> events (or from
/// <c>GET /api/scans/{id}</c> when events were lost): the scan's state, and per segment its sensor and whether
/// it is done. The overall count is the manager's own; the per-sensor counts come from the segment events.
/// </summary>
public sealed class ScanProgress
{
    private const int BarWidth = 32;
    private const int SensorBarWidth = 16;
    private readonly (string? Sensor, bool Done)[] _segments;
    private readonly List<string> _sensors;
    private readonly Func<string, string> _label;

    /// <param name="sensors">The scan's sensors, in the manager's order.</param>
    /// <param name="label">A sensor's name on the console (<c>sensor-1</c>) from its device id.</param>
    public ScanProgress(string scanId, int segments, IEnumerable<string> sensors, Func<string, string> label)
    {
        ScanId = scanId;
        _segments = new (string?, bool)[segments];
        _sensors = sensors.ToList();
        _label = label;
    }

    public string ScanId { get; }

    /// <summary>The scan's sensors (device ids), and any other that an event named.</summary>
    public IReadOnlyList<string> Sensors => _sensors;

    /// <summary><c>running</c>, <c>paused</c>, <c>completed</c>, <c>cancelled</c> or <c>failed</c>, as the manager says.</summary>
    public string State { get; private set; } = "running";

    public int Done { get; private set; }

    public int Total => _segments.Length;

    public bool Finished => State is "completed" or "cancelled" or "failed";

    /// <summary>The last change, in words.</summary>
    public string LastChange { get; private set; } = "starting";

    /// <summary>The last change, and the state when it is not <c>running</c> and the change does not say it already.</summary>
    public string Status => State == "running" || State == LastChange ? LastChange : $"{LastChange} (state {State})";

    /// <summary>Folds one <c>scans</c> event in; false when it is about another scan.</summary>
    public bool Apply(JsonObject data)
    {
        if (Text(data, "scan_id") != ScanId)
            return false;
        var change = Text(data, "change");
        var segment = data["segment"]?.GetValue<int>();
        var sensor = Text(data, "sensor");
        var from = Text(data, "from");
        if (segment is { } i && i >= 0 && i < _segments.Length)
        {
            switch (change)
            {
                case "assigned" or "reassigned":
                    _segments[i] = (sensor, false);
                    break;
                case "unassigned":
                    _segments[i] = (null, false);
                    break;
                case "segment":
                    _segments[i] = (sensor, true);
                    break;
            }
        }
        if (sensor is not null && !_sensors.Contains(sensor))
            _sensors.Add(sensor);
        State = Text(data, "state") ?? State;
        Done = data["segments_done"]?.GetValue<int>() ?? _segments.Count(s => s.Done);
        LastChange = change switch
        {
            "started" => "started",
            "assigned" => $"segment {segment} assigned to {Name(sensor)}",
            "reassigned" => $"segment {segment} moved from {Name(from)} (offline) to {Name(sensor)}",
            "unassigned" => $"segment {segment} waits: {Name(from)} went offline",
            "segment" => $"segment {segment} done by {Name(sensor)}",
            "paused" => "paused: none of its sensors is online",
            "resumed" => "resumed",
            "completed" => "completed",
            "cancelled" => "cancelled",
            _ => change ?? "changed",
        };
        return true;
    }

    /// <summary>Takes the state from <c>GET /api/scans/{id}</c>; false when it adds nothing to what the events said.</summary>
    public bool Apply(JsonObject scan, string how)
    {
        var before = (State, Done, Segments: string.Join(',', _segments));
        State = Text(scan, "state") ?? State;
        foreach (var segment in scan["segments"]?.AsArray().OfType<JsonObject>() ?? [])
        {
            var i = segment["segment"]!.GetValue<int>();
            if (i >= 0 && i < _segments.Length)
                _segments[i] = (Text(segment, "sensor"), Text(segment, "state") == "done");
        }
        Done = _segments.Count(s => s.Done);
        if (before == (State, Done, string.Join(',', _segments)))
            return false;
        LastChange = how;
        return true;
    }

    /// <summary>One line for a log or a pipe: the bar, the counts per sensor, and what changed.</summary>
    public string Line() =>
        $"  {Bar(Done, Total, BarWidth)} {Done,3}/{Total} {Percent(Done, Total),4}  "
        + string.Join("  ", _sensors.Select(s => $"{Name(s)} {DoneBy(s)}/{Share(s)}")) + $"   {Status}";

    /// <summary>The lines a terminal redraws in place: the whole scan, then one per sensor.</summary>
    public IReadOnlyList<string> Block()
    {
        var width = Math.Max(8, _sensors.Count == 0 ? 0 : _sensors.Max(s => Name(s).Length));
        var lines = new List<string>
        {
            $"  {"scan".PadRight(width)}  {Bar(Done, Total, BarWidth)} {Done,3}/{Total} {Percent(Done, Total),4}  {Status}",
        };
        foreach (var sensor in _sensors)
            lines.Add($"  {Name(sensor).PadRight(width)}  {Bar(DoneBy(sensor), Share(sensor), SensorBarWidth)} {DoneBy(sensor),3}/{Share(sensor)} segments");
        return lines;
    }

    /// <summary>Segments this sensor finished.</summary>
    public int DoneBy(string sensor) => _segments.Count(s => s.Done && s.Sensor == sensor);

    /// <summary>Segments this sensor finished or holds now.</summary>
    private int Share(string sensor) => _segments.Count(s => s.Sensor == sensor);

    private string Name(string? sensor) => sensor is null ? "?" : _label(sensor);

    private static string Bar(int done, int total, int width)
    {
        var filled = total == 0 ? 0 : (int)Math.Round((double)done * width / total);
        return new StringBuilder(width + 2).Append('[').Append('#', filled).Append('.', width - filled).Append(']').ToString();
    }

    private static string Percent(int done, int total) => $"{(total == 0 ? 0 : 100 * done / total)}%";

    private static string? Text(JsonObject json, string field) => json[field]?.GetValue<string>();
}
