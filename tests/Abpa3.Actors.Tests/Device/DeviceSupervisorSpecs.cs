using Akka.Actor;
using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Tests.Support;
using static Abpa3.Actors.Device.DeviceMessages;
using static Abpa3.Actors.Pairing.PairingReplies;

namespace Abpa3.Actors.Tests.Device;

/// <summary>The node's root actor as the host registers it, on a real journal.</summary>
public sealed class DeviceSupervisorSpecs : IDisposable
{
    private readonly TempDataDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<T> Ask<T>(ActorNode node, object message) =>
        await node.Supervisor.Ask<T>(message, TimeSpan.FromSeconds(10));

    [Fact]
    public async Task It_describes_the_device_with_its_identity_and_state()
    {
        await using var node = await ActorNode.StartAsync(_dir.Path);

        var info = await Ask<DeviceInfo>(node, GetDeviceInfo.Instance);

        Assert.Equal(node.Identity.DeviceId.Value, info.DeviceId);
        Assert.Equal(node.Identity.SerialNumber, info.SerialNumber);
        Assert.Equal(node.Identity.CertSha256, info.CertSha256);
        Assert.Equal(DeviceLifecycle.Initial, info.Lifecycle);
    }

    [Fact]
    public async Task A_wrong_setup_code_is_refused_and_the_device_stays_unconfigured()
    {
        await using var node = await ActorNode.StartAsync(_dir.Path);
        var wrong = node.Identity.SetupCode.Reveal() == "12345678" ? "87654321" : "12345678";

        var reply = await Ask<Refused>(node, new SetupOwner("alice", "hash", wrong));
        var missing = await Ask<Refused>(node, new SetupOwner("alice", "hash", null));

        Assert.Equal(RefusalReason.WrongSetupCode, reply.Reason);
        Assert.Equal(RefusalReason.WrongSetupCode, missing.Reason);
        Assert.Equal(DeviceState.Unconfigured, (await Ask<DeviceInfo>(node, GetDeviceInfo.Instance)).Lifecycle.State);
    }

    [Fact]
    public async Task Too_many_wrong_codes_lock_setup_until_the_device_restarts()
    {
        var threeTries = new Dictionary<string, string> { ["abpa3.device.max-wrong-setup-codes"] = "3" };
        await using (var node = await ActorNode.StartAsync(_dir.Path, threeTries))
        {
            var code = node.Identity.SetupCode.Reveal();
            var wrong = code == "12345678" ? "87654321" : "12345678";
            for (var i = 0; i < 3; i++)
                Assert.Equal(RefusalReason.WrongSetupCode, (await Ask<Refused>(node, new CheckSetupCode(wrong))).Reason);

            Assert.Equal(RefusalReason.SetupLocked, (await Ask<Refused>(node, new CheckSetupCode(code))).Reason);
            Assert.Equal(RefusalReason.SetupLocked, (await Ask<Refused>(node, new SetupOwner("alice", "hash", code))).Reason);
            Assert.Equal(DeviceState.Unconfigured, (await Ask<DeviceInfo>(node, GetDeviceInfo.Instance)).Lifecycle.State);
        }

        await using (var restarted = await ActorNode.StartAsync(_dir.Path, threeTries))
        {
            var code = restarted.Identity.SetupCode.Reveal();
            Assert.Same(SetupCodeAccepted.Instance, await Ask<SetupCodeAccepted>(restarted, new CheckSetupCode(code)));
            await Ask<AccountCreated>(restarted, new SetupOwner("alice", "hash", code));
        }
    }

    [Fact]
    public async Task Checking_the_right_code_claims_nothing()
    {
        await using var node = await ActorNode.StartAsync(_dir.Path);

        await Ask<SetupCodeAccepted>(node, new CheckSetupCode(node.Identity.SetupCode.Reveal()));

        Assert.Equal(DeviceState.Unconfigured, (await Ask<DeviceInfo>(node, GetDeviceInfo.Instance)).Lifecycle.State);
    }

    [Fact]
    public async Task The_setup_code_claims_the_device_once_and_the_claim_survives_a_restart()
    {
        string certSha256;
        await using (var node = await ActorNode.StartAsync(_dir.Path))
        {
            var code = node.Identity.SetupCode.Reveal();
            certSha256 = node.Identity.CertSha256;

            var created = await Ask<AccountCreated>(node, new SetupOwner("alice", "hash", code));
            var info = await Ask<DeviceInfo>(node, GetDeviceInfo.Instance);
            var again = await Ask<Refused>(node, new SetupOwner("mallory", "hash", code));

            Assert.Equal(UserRole.Owner, created.Account.Role);
            Assert.Equal(DeviceState.Configured, info.Lifecycle.State);
            Assert.Equal(RefusalReason.AlreadyConfigured, again.Reason);
        }

        await using (var restarted = await ActorNode.StartAsync(_dir.Path))
        {
            var info = await Ask<DeviceInfo>(restarted, GetDeviceInfo.Instance);
            Assert.Equal(DeviceState.Configured, info.Lifecycle.State);
            Assert.Equal(certSha256, info.CertSha256);
            var owner = await Ask<PairingQueries.UserFound>(restarted, new PairingQueries.GetUser("alice"));
            Assert.Equal("hash", owner.Account.PasswordHash);
        }
    }
}
