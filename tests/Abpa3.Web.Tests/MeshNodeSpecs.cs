using Abpa3.Actors.Device;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests;

/// <summary>Composing and starting one node.</summary>
public sealed class MeshNodeSpecs
{
    [Fact]
    public async Task A_node_whose_actors_recover_slower_than_a_request_may_wait_still_starts()
    {
        // A request may wait 1 ms here; a first boot (journal created, identity written) takes far longer than that.
        await using var node = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.node.ask-timeout"] = "1ms" });
        Assert.Equal(DeviceState.Unconfigured, node.Node.LifecycleAtStart.State);
    }
}
