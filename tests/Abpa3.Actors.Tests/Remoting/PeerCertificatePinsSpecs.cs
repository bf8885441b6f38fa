using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Akka.Event;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Remoting;

namespace Abpa3.Actors.Tests.Remoting;

public class PeerCertificatePinsSpecs
{
    private sealed class Clock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;
        public override DateTimeOffset GetUtcNow() => Now;
    }

    [Fact]
    public void Pins_can_be_added_and_removed()
    {
        var pins = new PeerCertificatePins();
        pins.Pin("abc");
        Assert.True(pins.IsPinned("abc"));
        pins.Unpin("abc");
        Assert.False(pins.IsPinned("abc"));
    }

    [Fact]
    public void A_flood_of_refused_handshakes_writes_one_warning_per_interval_and_counts_them_all()
    {
        var clock = new Clock();
        var pins = new PeerCertificatePins(clock);

        var warnings = Enumerable.Range(0, 1000).Count(_ => pins.ShouldLogRefusal(out long _));
        Assert.Equal(1, warnings);

        clock.Now += PeerCertificatePins.RefusalLogInterval;
        Assert.True(pins.ShouldLogRefusal(out var suppressed));
        Assert.Equal(999, suppressed);
        Assert.Equal(1001, pins.Refused);
    }

    private static X509Certificate2 Certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=peer", key, HashAlgorithmName.SHA256);
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static bool Validate(PeerCertificatePins pins, X509Certificate2 certificate) =>
        pins.Validate(certificate, null, "127.0.0.1:1", SslPolicyErrors.None, NoLogger.Instance);

    [Fact]
    public async Task A_handshake_while_the_paired_devices_are_loading_waits_for_them()
    {
        // A restarted sensor's remoting listens before its journal has said who is paired; its manager knocking
        // then must not be refused (the manager would hold the address for its 15 s handshake timeout).
        var pins = new PeerCertificatePins(startupWait: TimeSpan.FromSeconds(30));
        using var manager = Certificate();

        var handshake = Task.Run(() => Validate(pins, manager));
        await Task.Delay(300);
        Assert.False(handshake.IsCompleted);
        pins.Pin(NodeIdentity.Fingerprint(manager));
        pins.MarkLoaded();

        Assert.True(await handshake.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, pins.Refused);
    }

    [Fact]
    public async Task A_certificate_still_unknown_once_loaded_is_refused()
    {
        var pins = new PeerCertificatePins(startupWait: TimeSpan.FromSeconds(30));
        using var stranger = Certificate();

        var handshake = Task.Run(() => Validate(pins, stranger));
        await Task.Delay(100);
        pins.Pin("someone else");
        pins.MarkLoaded();

        Assert.False(await handshake.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, pins.Refused);
    }

    [Fact]
    public void Once_loaded_an_unknown_certificate_is_refused_without_waiting()
    {
        var pins = new PeerCertificatePins(startupWait: TimeSpan.FromSeconds(30));
        pins.MarkLoaded();
        using var stranger = Certificate();

        var started = Stopwatch.GetTimestamp();
        Assert.False(Validate(pins, stranger));
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void If_the_paired_devices_never_load_handshakes_wait_no_longer_than_the_startup_wait()
    {
        var pins = new PeerCertificatePins(startupWait: TimeSpan.FromMilliseconds(300));
        using var stranger = Certificate();

        var started = Stopwatch.GetTimestamp();
        Assert.False(Validate(pins, stranger));
        Assert.False(Validate(pins, stranger)); // past the deadline: at once
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(5));
        Assert.False(pins.IsLoaded);
    }
}
