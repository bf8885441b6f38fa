using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;
using static Abpa3.Actors.Pairing.PairingCommands;
using static Abpa3.Actors.Pairing.PairingEvents;
using static Abpa3.Actors.Pairing.PairingReplies;

namespace Abpa3.Actors.Tests.Pairing;

public class PairingStateSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    private static PairingState Fold(PairingState state, PairingDecision decision) =>
        decision.Events.Aggregate(state, (s, e) => s.Apply(e));

    [Fact]
    public void Creating_the_owner_emits_one_event_and_configures_the_device()
    {
        var decision = PairingState.Empty.Decide(new CreateOwner("Alice", "hash-1"), Now);

        var created = Assert.IsType<OwnerCreated>(Assert.Single(decision.Events));
        Assert.Equal(new OwnerCreated("Alice", "hash-1", Now), created);
        var state = Fold(PairingState.Empty, decision);
        Assert.Equal(DeviceState.Configured, state.Lifecycle.State);
        Assert.Equal(UserRole.Owner, state.FindUser("alice")!.Role); // usernames compare case-insensitively
        Assert.Equal("hash-1", state.FindUser("ALICE")!.PasswordHash);
    }

    [Fact]
    public void A_second_owner_is_refused_and_changes_nothing()
    {
        var state = Fold(PairingState.Empty, PairingState.Empty.Decide(new CreateOwner("alice", "h"), Now));

        var second = state.Decide(new CreateOwner("mallory", "h2"), Now);

        Assert.Empty(second.Events);
        Assert.Equal(RefusalReason.AlreadyConfigured, Assert.IsType<Refused>(second.Reply).Reason);
        Assert.Null(state.FindUser("mallory"));
    }

    [Theory]
    [InlineData("", "hash")]
    [InlineData("has space", "hash")]
    [InlineData("alice", "")]
    public void Invalid_accounts_are_refused(string username, string hash)
    {
        var decision = PairingState.Empty.Decide(new CreateOwner(username, hash), Now);
        Assert.Empty(decision.Events);
        Assert.Equal(RefusalReason.InvalidAccount, Assert.IsType<Refused>(decision.Reply).Reason);
    }

    [Fact]
    public void An_overlong_username_is_refused()
    {
        var decision = PairingState.Empty.Decide(new CreateOwner(new string('a', 65), "hash"), Now);
        Assert.Equal(RefusalReason.InvalidAccount, Assert.IsType<Refused>(decision.Reply).Reason);
    }

    [Fact]
    public void Admins_are_added_only_once_the_device_has_an_owner_and_never_twice()
    {
        Assert.Equal(RefusalReason.NotConfigured,
            Assert.IsType<Refused>(PairingState.Empty.Decide(new AddAdmin("bob", "h"), Now).Reply).Reason);

        var owned = Fold(PairingState.Empty, PairingState.Empty.Decide(new CreateOwner("alice", "h"), Now));
        var added = owned.Decide(new AddAdmin("bob", "hb"), Now);
        var created = Assert.IsType<AccountCreated>(added.Reply);
        Assert.Equal(UserRole.Admin, created.Account.Role);
        var withAdmin = Fold(owned, added);

        Assert.Equal(RefusalReason.UsernameTaken,
            Assert.IsType<Refused>(withAdmin.Decide(new AddAdmin("BOB", "x"), Now).Reply).Reason);
        Assert.Equal(RefusalReason.UsernameTaken,
            Assert.IsType<Refused>(withAdmin.Decide(new AddAdmin("alice", "x"), Now).Reply).Reason);
    }

    [Fact]
    public void A_snapshot_restores_the_same_state()
    {
        var state = Fold(PairingState.Empty, PairingState.Empty.Decide(new CreateOwner("alice", "h"), Now));
        state = Fold(state, state.Decide(new AddAdmin("bob", "hb"), Now.AddMinutes(1)));

        var restored = PairingState.FromSnapshot(state.ToSnapshot());

        Assert.Equal(state.Lifecycle, restored.Lifecycle);
        Assert.Equal(state.Users.OrderBy(u => u.Key), restored.Users.OrderBy(u => u.Key));
    }
}
