using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;

namespace Abpa3.Actors.Tests.Device;

public class DeviceLifecycleSpecs
{
    private static readonly DeviceId Manager = DeviceId.Parse("manager-1");

    [Fact]
    public void A_new_device_is_unconfigured_with_no_role()
    {
        Assert.Equal(DeviceState.Unconfigured, DeviceLifecycle.Initial.State);
        Assert.Equal(DeviceRole.None, DeviceLifecycle.Initial.Role);
        Assert.False(DeviceLifecycle.Initial.IsManager);
    }

    [Fact]
    public void Creating_the_owner_configures_the_device_once()
    {
        var configured = DeviceLifecycle.Initial.OwnerCreated();
        Assert.True(configured.Allowed);
        Assert.Equal(DeviceState.Configured, configured.Next!.State);

        var again = configured.Next.OwnerCreated();
        Assert.False(again.Allowed);
        Assert.Contains("configured", again.Refusal);
    }

    [Fact]
    public void A_configured_device_becomes_a_manager_when_it_pairs_a_sensor()
    {
        var manager = DeviceLifecycle.Initial.OwnerCreated().Next!.PairedAsManager();
        Assert.Equal(new DeviceLifecycle(DeviceState.Paired, DeviceRole.Manager, null), manager.Next);
        Assert.True(manager.Next!.IsManager);
        Assert.True(manager.Next.PairedAsManager().Allowed); // a manager pairs more sensors
    }

    [Fact]
    public void An_unconfigured_device_cannot_manage_others() =>
        Assert.False(DeviceLifecycle.Initial.PairedAsManager().Allowed);

    [Theory]
    [InlineData(DeviceState.Unconfigured)]
    [InlineData(DeviceState.Configured)]
    public void A_fresh_or_configured_device_can_become_a_sensor(DeviceState state)
    {
        var sensor = new DeviceLifecycle(state, DeviceRole.None, null).PairedAsSensor(Manager);
        Assert.Equal(new DeviceLifecycle(DeviceState.Paired, DeviceRole.Sensor, Manager), sensor.Next);
    }

    [Fact]
    public void A_sensor_cannot_be_paired_twice_nor_manage()
    {
        var sensor = DeviceLifecycle.Initial.PairedAsSensor(Manager).Next!;
        Assert.False(sensor.PairedAsSensor(DeviceId.Parse("other-manager")).Allowed);
        Assert.False(sensor.PairedAsManager().Allowed);
    }

    [Fact]
    public void A_sensor_goes_standalone_without_its_manager_and_returns_to_paired()
    {
        var sensor = DeviceLifecycle.Initial.PairedAsSensor(Manager).Next!;
        var standalone = sensor.ManagerUnreachable().Next!;
        Assert.Equal(DeviceState.Standalone, standalone.State);
        Assert.Equal(Manager, standalone.ManagerDeviceId);
        Assert.False(standalone.ManagerUnreachable().Allowed);

        var back = standalone.ManagerReachable().Next!;
        Assert.Equal(sensor, back);
    }

    [Fact]
    public void Only_a_sensor_can_go_standalone()
    {
        var manager = DeviceLifecycle.Initial.OwnerCreated().Next!.PairedAsManager().Next!;
        Assert.False(manager.ManagerUnreachable().Allowed);
        Assert.False(manager.ManagerReachable().Allowed);
        Assert.False(DeviceLifecycle.Initial.ManagerUnreachable().Allowed);
    }

    [Fact]
    public void Revoking_the_last_peer_leaves_the_device_configured()
    {
        var sensor = DeviceLifecycle.Initial.PairedAsSensor(Manager).Next!;
        Assert.Equal(new DeviceLifecycle(DeviceState.Configured, DeviceRole.None, null), sensor.LastPeerRevoked().Next);
        Assert.False(DeviceLifecycle.Initial.LastPeerRevoked().Allowed);
    }

    [Theory]
    [InlineData(DeviceState.Unconfigured, "unconfigured")]
    [InlineData(DeviceState.Configured, "configured")]
    [InlineData(DeviceState.Paired, "paired")]
    [InlineData(DeviceState.Standalone, "standalone")]
    public void States_are_spelled_as_the_spec_spells_them(DeviceState state, string spelled) =>
        Assert.Equal(spelled, DeviceLifecycle.Describe(state));
}
