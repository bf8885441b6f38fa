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
}
