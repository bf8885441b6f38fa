using Abpa3.Actors.Identity;
using Abpa3.Actors.Tests.Support;

namespace Abpa3.Actors.Tests.Identity;

public sealed class NodeIdentityStoreSpecs : IDisposable
{
    private readonly TempDataDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void First_boot_creates_an_identity_with_owner_only_secrets()
    {
        var identity = NodeIdentityStore.LoadOrCreate(_dir.Path, null, null);

        Assert.Matches("^abpa3-[0-9a-f]{12}$", identity.DeviceId.Value);
        Assert.Matches("^A3-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$", identity.SerialNumber);
        Assert.Equal(identity.DeviceId.Value, identity.Name);
        Assert.Matches("^[0-9a-f]{64}$", identity.CertSha256);
        Assert.True(identity.Certificate.HasPrivateKey);
        Assert.Matches("^[0-9]{8}$", identity.SetupCode.Reveal());
        Assert.Equal(identity.SetupCode.Reveal(), File.ReadAllText(Path.Combine(_dir.Path, NodeIdentityStore.SetupCodeFile)).Trim());

        if (OperatingSystem.IsWindows())
            return;
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir.Path));
        foreach (var file in new[] { NodeIdentityStore.CertificateFile, NodeIdentityStore.SetupCodeFile, NodeIdentityStore.IdentityFile })
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_dir.Path, file)));
    }

    [Fact]
    public void A_data_directory_made_by_hand_with_loose_rights_is_tightened()
    {
        if (OperatingSystem.IsWindows())
            return;
        Directory.CreateDirectory(_dir.Path);
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0b111_111_111);

        NodeIdentityStore.LoadOrCreate(_dir.Path, null, null);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir.Path));
    }

    [Fact]
    public void Only_one_process_holds_a_data_directory()
    {
        DataDirectory.Ensure(_dir.Path);
        using (DataDirectory.Lock(_dir.Path))
            Assert.Throws<InvalidOperationException>(() => DataDirectory.Lock(_dir.Path).Dispose());
        DataDirectory.Lock(_dir.Path).Dispose(); // released with its holder
    }

    [Fact]
    public void Second_boot_reuses_every_part_of_the_identity()
    {
        var first = NodeIdentityStore.LoadOrCreate(_dir.Path, null, null);
        var second = NodeIdentityStore.LoadOrCreate(_dir.Path, null, null);

        Assert.Equal(first.DeviceId, second.DeviceId);
        Assert.Equal(first.SerialNumber, second.SerialNumber);
        Assert.Equal(first.CertSha256, second.CertSha256);
        Assert.Equal(first.SetupCode.Reveal(), second.SetupCode.Reveal());
    }

    [Fact]
    public void A_configured_device_id_is_used_on_first_boot_and_cannot_change_later()
    {
        var identity = NodeIdentityStore.LoadOrCreate(_dir.Path, "kitchen-sensor", "Kitchen");
        Assert.Equal("kitchen-sensor", identity.DeviceId.Value);
        Assert.Equal("Kitchen", identity.Name);

        var error = Assert.Throws<InvalidOperationException>(() => NodeIdentityStore.LoadOrCreate(_dir.Path, "another-id", null));
        Assert.Contains("kitchen-sensor", error.Message);
    }

    [Fact]
    public void A_new_name_renames_the_device_and_is_kept()
    {
        NodeIdentityStore.LoadOrCreate(_dir.Path, null, "Old name");
        NodeIdentityStore.LoadOrCreate(_dir.Path, null, "New name");

        Assert.Equal("New name", NodeIdentityStore.LoadOrCreate(_dir.Path, null, null).Name);
    }

    [Theory]
    [InlineData("UPPER")]
    [InlineData("ab")]
    [InlineData("-leading-dash")]
    [InlineData("has space")]
    public void Invalid_device_ids_are_refused(string deviceId) =>
        Assert.Throws<FormatException>(() => NodeIdentityStore.LoadOrCreate(_dir.Path, deviceId, null));

    [Fact]
    public void A_damaged_setup_code_file_stops_the_boot_with_a_clear_error()
    {
        NodeIdentityStore.LoadOrCreate(_dir.Path, null, null);
        File.WriteAllText(Path.Combine(_dir.Path, NodeIdentityStore.SetupCodeFile), "12ab");

        var error = Assert.Throws<InvalidDataException>(() => NodeIdentityStore.LoadOrCreate(_dir.Path, null, null));
        Assert.Contains("setup code", error.Message);
    }

    [Fact]
    public void The_setup_code_matches_only_itself_and_never_prints_its_digits()
    {
        Assert.True(SetupCode.TryParse("01234567", out var code));
        Assert.True(code!.Matches("01234567"));
        Assert.False(code.Matches("01234568"));
        Assert.False(code.Matches("0123456"));
        Assert.False(code.Matches(null));
        Assert.DoesNotContain("0123", code.ToString());
        Assert.False(SetupCode.TryParse("1234567a", out _));
    }
}
