using Abpa3.Actors.Remoting;
using Abpa3.Actors.Tests.Support;

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

    private static string Fingerprint(char c) => new(c, 64);

    [Fact]
    public void Pins_kept_in_the_data_directory_are_there_for_the_next_start_before_anything_else_runs()
    {
        using var dir = new TempDataDir();
        Directory.CreateDirectory(dir.Path);
        var pins = PeerCertificatePins.InDataDirectory(dir.Path);
        pins.Pin(Fingerprint('a'));
        pins.Pin(Fingerprint('b'));
        pins.Unpin(Fingerprint('a'));

        var next = PeerCertificatePins.InDataDirectory(dir.Path);
        Assert.Equal([Fingerprint('b')], next.Pinned);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite,
                File.GetUnixFileMode(Path.Combine(dir.Path, PeerCertificatePins.FileName)));
    }

    [Fact]
    public void Reset_makes_the_pins_exactly_the_given_ones_on_disk_too()
    {
        using var dir = new TempDataDir();
        Directory.CreateDirectory(dir.Path);
        var pins = PeerCertificatePins.InDataDirectory(dir.Path);
        pins.Pin(Fingerprint('a'));
        pins.Pin(Fingerprint('b'));

        pins.Reset([Fingerprint('c')]);

        Assert.Equal([Fingerprint('c')], pins.Pinned);
        Assert.Equal([Fingerprint('c')], PeerCertificatePins.InDataDirectory(dir.Path).Pinned);
    }

    [Fact]
    public void A_damaged_pin_file_yields_only_its_well_formed_fingerprints()
    {
        using var dir = new TempDataDir();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllText(Path.Combine(dir.Path, PeerCertificatePins.FileName),
            Fingerprint('d') + "\n" + "not a fingerprint\n" + Fingerprint('E') + "\n" + Fingerprint('a')[..63] + "\n\0\0");

        Assert.Equal([Fingerprint('d')], PeerCertificatePins.InDataDirectory(dir.Path).Pinned);
    }

    [Fact]
    public void A_data_directory_without_pins_trusts_nobody()
    {
        using var dir = new TempDataDir();
        Directory.CreateDirectory(dir.Path);
        Assert.Empty(PeerCertificatePins.InDataDirectory(dir.Path).Pinned);
    }
}
