using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Abpa3.Host.Demo;

/// <summary>
/// The demo nodes' warnings and errors on stderr, one line each and labelled with the node, so three nodes
/// sharing one console stay readable. Akka.Remote's reports of connections between the demo's own nodes
/// coming and going (a sensor not listening yet, a peer stopping first) are left out: they are expected
/// while the three start and stop, and the manager's device list is the demo's account of who is online.
/// </summary>
public sealed partial class NodeLog(string key) : ILoggerProvider
{
    public static void AddTo(ILoggingBuilder logging, string key) =>
        logging.AddProvider(new NodeLog(key)).SetMinimumLevel(LogLevel.Warning);

    public ILogger CreateLogger(string categoryName) => new Logger(key, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    public void Dispose()
    {
    }

    /// <summary>The text of a log line as the demo prints it, or null for connection chatter between its nodes.</summary>
    public static string? Format(string key, LogLevel level, string category, string message, Exception? exception)
    {
        // Akka's messages carry their own "[LEVEL][time][thread][source]" header and, for failures, a stack trace.
        var firstLine = message.Split('\n', 2)[0].TrimEnd();
        if (AkkaHeader().Match(firstLine) is { Success: true } akka)
        {
            category = akka.Groups["source"].Value;
            firstLine = firstLine[akka.Length..].Trim();
        }
        if (AssociationChatter().IsMatch(firstLine))
            return null;
        var cause = exception is null ? "" : $" ({exception.GetType().Name}: {exception.Message.Split('\n', 2)[0].TrimEnd()})";
        return $"  [{key}] {(level == LogLevel.Warning ? "warn" : "fail")}: {category}: {firstLine}{cause}";
    }

    private sealed class Logger(string key, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel) && Format(key, logLevel, category, formatter(state, exception), exception) is { } line)
                Console.Error.WriteLine(line);
        }
    }

    [GeneratedRegex(@"^\[(?:WARNING|ERROR)\]\[[^\]]*\]\[Thread \d+\]\[(?<source>[^\]]*)\]")]
    private static partial Regex AkkaHeader();

    [GeneratedRegex(@"^(Tried to associate with unreachable remote address|Association with remote system \S+ has failed|Disassociated$|Unable to REMOVE channel)")]
    private static partial Regex AssociationChatter();
}
