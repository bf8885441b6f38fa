using Akka.Configuration;

namespace Abpa3.Actors.Configuration;

/// <summary>
/// Loads the node's HOCON: every <c>*.hocon</c> file of the config directory, with overrides layered
/// on top (environment variables, then command-line options).
/// </summary>
public static partial class MeshConfig
{
    public const string EnvironmentPrefix = "ABPA3__";

    /// <summary>The <c>hocon/</c> directory shipped beside the running assembly.</summary>
    public static string DefaultDirectory => Path.Combine(AppContext.BaseDirectory, "hocon");

    public static Config LoadFiles(string directory)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"configuration directory '{directory}' not found");
        var config = Config.Empty;
        foreach (var file in Directory.EnumerateFiles(directory, "*.hocon").Order(StringComparer.Ordinal))
            config = config.WithFallback(ConfigurationFactory.ParseString(File.ReadAllText(file)));
        return config;
    }

    /// <summary>
    /// Maps <c>ABPA3__NODE__HTTP_PORT=9000</c> to <c>abpa3.node.http-port = "9000"</c>: the prefix is
    /// dropped, <c>__</c> separates path segments, <c>_</c> becomes <c>-</c>, and everything is lowercase.
    /// </summary>
    public static IReadOnlyDictionary<string, string> FromEnvironment(System.Collections.IDictionary environment)
    {
        var overrides = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in environment)
        {
            if (entry.Key is not string key || !key.StartsWith(EnvironmentPrefix, StringComparison.OrdinalIgnoreCase) || entry.Value is not string value)
                continue;
            var path = key[EnvironmentPrefix.Length..]
                .Split("__")
                .Select(segment => segment.ToLowerInvariant().Replace('_', '-'))
                .ToList();
            // A malformed name (empty segment, odd characters) is ignored rather than allowed to
            // land somewhere unexpected in the configuration.
            if (path.All(segment => KeySegment().IsMatch(segment)))
                overrides["abpa3." + string.Join('.', path)] = value;
        }
        return overrides;
    }

    /// <summary>Puts <paramref name="overrides"/> (HOCON path → value) in front of <paramref name="config"/>.</summary>
    public static Config WithOverrides(this Config config, IReadOnlyDictionary<string, string> overrides)
    {
        foreach (var (key, value) in overrides)
        {
            var segments = key.Split('.');
            if (!segments.All(segment => KeySegment().IsMatch(segment)))
                throw new ConfigurationException($"'{key}' is not a configuration key");
            config = ConfigurationFactory.ParseString($"{key} = {Quote(value)}").WithFallback(config);
        }
        return config;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9][a-z0-9-]*$")]
    private static partial System.Text.RegularExpressions.Regex KeySegment();

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";
}
