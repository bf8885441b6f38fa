using System.Security.Cryptography;
using System.Text;
using Abpa3.Actors.Remoting;

namespace Abpa3.Actors.Tests.Remoting;

/// <summary>Signed HTTP between paired devices: method, path, nonce and body are covered, and nothing is accepted twice.</summary>
public class DeviceRequestSignatureSpecs
{
    private static readonly byte[] Secret = RandomNumberGenerator.GetBytes(32);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"width":64}""");

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    /// <summary>Per test (xUnit makes a new instance for each), so moving it affects no other test.</summary>
    private readonly Clock ManagerClock = new(DateTimeOffset.UnixEpoch.AddYears(56));

    private DeviceRequestVerifier SensorVerifier(Clock? clock = null, int maxNonces = 1000) =>
        new(PairKeys.Derive(Secret, "sensor", "manager"), TimeSpan.FromMinutes(5), maxNonces, clock ?? new Clock(ManagerClock.Now));

    private IReadOnlyDictionary<string, string> Signed(string method = "POST", string path = "/api/sensors/scan/start", byte[]? body = null) =>
        DeviceRequestSignature.Headers(PairKeys.Derive(Secret, "manager", "sensor"), "manager", method, path, body ?? Body, ManagerClock);

    private static RequestVerdict Check(DeviceRequestVerifier verifier, IReadOnlyDictionary<string, string> h,
        string method = "POST", string path = "/api/sensors/scan/start", byte[]? body = null) =>
        verifier.Verify(method, path, h["X-Device-ID"], h["X-Timestamp"], h["X-Nonce"], h["X-Signature"], body ?? Body);

    [Fact]
    public void A_signed_request_is_accepted_once()
    {
        var verifier = SensorVerifier();
        var headers = Signed();

        Assert.Equal(RequestVerdict.Accepted, Check(verifier, headers));
        Assert.Equal(RequestVerdict.Replayed, Check(verifier, headers));
        Assert.Equal(RequestVerdict.Accepted, Check(verifier, Signed())); // a new nonce is a new request
    }

    [Fact]
    public void Method_path_body_and_identity_are_all_covered()
    {
        var verifier = SensorVerifier();
        var headers = Signed();

        Assert.Equal(RequestVerdict.BadSignature, Check(verifier, headers, method: "GET"));
        Assert.Equal(RequestVerdict.BadSignature, Check(verifier, headers, path: "/api/system/shutdown"));
        Assert.Equal(RequestVerdict.BadSignature, Check(verifier, headers, body: Encoding.UTF8.GetBytes("""{"width":65}""")));
        var other = headers.ToDictionary(p => p.Key, p => p.Value);
        other["X-Device-ID"] = "someone-else";
        Assert.Equal(RequestVerdict.BadSignature, Check(verifier, other));
        other = headers.ToDictionary(p => p.Key, p => p.Value);
        other["X-Nonce"] = "another-nonce";
        Assert.Equal(RequestVerdict.BadSignature, Check(verifier, other));
    }

    [Fact]
    public void Old_requests_and_malformed_headers_are_refused()
    {
        var sensorClock = new Clock(ManagerClock.Now + TimeSpan.FromMinutes(6));
        Assert.Equal(RequestVerdict.Stale, Check(SensorVerifier(sensorClock), Signed()));

        var verifier = SensorVerifier();
        var headers = Signed();
        Assert.Equal(RequestVerdict.Malformed, verifier.Verify("POST", "/p", null, headers["X-Timestamp"], headers["X-Nonce"], headers["X-Signature"], Body));
        Assert.Equal(RequestVerdict.Malformed, verifier.Verify("POST", "/p", "manager", "2026-11-24T12:00:00Z", headers["X-Nonce"], headers["X-Signature"], Body));
        Assert.Equal(RequestVerdict.Malformed, verifier.Verify("POST", "/p", "manager", headers["X-Timestamp"], "", headers["X-Signature"], Body));
        Assert.Equal(RequestVerdict.Malformed, verifier.Verify("POST", "/p", "manager", headers["X-Timestamp"], headers["X-Nonce"], new string('z', 64), Body));
    }

    [Fact]
    public void A_request_from_the_other_direction_is_not_accepted()
    {
        // What the sensor would sign for the manager does not verify as the manager's request to the sensor.
        var reflected = DeviceRequestSignature.Headers(PairKeys.Derive(Secret, "sensor", "manager"), "manager", "POST",
            "/api/sensors/scan/start", Body, ManagerClock);
        Assert.Equal(RequestVerdict.BadSignature, Check(SensorVerifier(), reflected));
    }

    [Fact]
    public void The_nonce_memory_is_bounded_without_forgetting_a_live_nonce()
    {
        var sensorClock = new Clock(ManagerClock.Now);
        var verifier = SensorVerifier(sensorClock, maxNonces: 3);
        var first = Signed();
        Assert.Equal(RequestVerdict.Accepted, Check(verifier, first));
        Assert.Equal(RequestVerdict.Accepted, Check(verifier, Signed()));
        Assert.Equal(RequestVerdict.Accepted, Check(verifier, Signed()));

        Assert.Equal(RequestVerdict.TooMany, Check(verifier, Signed()));
        Assert.Equal(RequestVerdict.Replayed, Check(verifier, first)); // still remembered

        sensorClock.Now += TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1);
        ManagerClock.Now = sensorClock.Now;
        Assert.Equal(RequestVerdict.Accepted, Check(verifier, Signed())); // the window passed: room again
        Assert.Equal(RequestVerdict.Stale, Check(verifier, first)); // and the old one is stale now
    }
}
