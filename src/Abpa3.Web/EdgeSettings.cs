using Akka.Configuration;

namespace Abpa3.Web;

/// <summary>The edge's settings, read from <c>abpa3.auth</c> and <c>abpa3.http</c> (see <c>hocon/abpa3.hocon</c>).</summary>
public sealed record EdgeSettings(
    TimeSpan TokenLifetime,
    TimeSpan ClockSkew,
    int LoginPermits,
    TimeSpan LoginWindow,
    int SetupPermits,
    TimeSpan SetupWindow,
    int PairPermits,
    TimeSpan PairWindow,
    int SocketPermits,
    TimeSpan SocketWindow,
    int MinPasswordLength,
    int MaxPasswordLength,
    long MaxRequestBody,
    int MaxConnectionsPerAddress)
{
    public static EdgeSettings FromConfig(Config config)
    {
        var auth = config.GetConfig("abpa3.auth") ?? throw new ConfigurationException("missing abpa3.auth");
        var http = config.GetConfig("abpa3.http") ?? throw new ConfigurationException("missing abpa3.http");
        var settings = new EdgeSettings(
            auth.GetTimeSpan("token-lifetime"),
            auth.GetTimeSpan("clock-skew"),
            auth.GetInt("login-permits"),
            auth.GetTimeSpan("login-window"),
            auth.GetInt("setup-permits"),
            auth.GetTimeSpan("setup-window"),
            auth.GetInt("pair-permits"),
            auth.GetTimeSpan("pair-window"),
            auth.GetInt("socket-permits"),
            auth.GetTimeSpan("socket-window"),
            auth.GetInt("min-password-length"),
            auth.GetInt("max-password-length"),
            http.GetByteSize("max-request-body") ?? throw new ConfigurationException("abpa3.http.max-request-body must be set"),
            http.GetInt("max-connections-per-address"));
        return settings.IsValid
            ? settings
            : throw new ConfigurationException("abpa3.auth and abpa3.http need positive limits, windows and lifetimes, and min-password-length ≤ max-password-length");
    }

    private bool IsValid =>
        TokenLifetime > TimeSpan.Zero && ClockSkew >= TimeSpan.Zero
        && LoginPermits > 0 && LoginWindow > TimeSpan.Zero && SetupPermits > 0 && SetupWindow > TimeSpan.Zero
        && PairPermits > 0 && PairWindow > TimeSpan.Zero && SocketPermits > 0 && SocketWindow > TimeSpan.Zero
        && MinPasswordLength > 0 && MinPasswordLength <= MaxPasswordLength && MaxRequestBody > 0 && MaxConnectionsPerAddress > 0;
}
