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

public class ClientPairingStateSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private static PairingState Fold(PairingState state, PairingDecision decision) =>
        decision.Events.Aggregate(state, (s, e) => s.Apply(e));

    private static PairingState Owned() =>
        Fold(PairingState.Empty, PairingState.Empty.Decide(new CreateOwner("alice", "h"), Now));

    private static PairingState WithToken(PairingState state, string hash, DateTimeOffset at, int max = 16) =>
        Fold(state, state.Decide(new IssuePairingToken("id-" + hash, hash, Lifetime, max), at));

    [Fact]
    public void A_token_pairs_one_client_once_and_only_before_it_expires()
    {
        var state = WithToken(Owned(), "t1", Now);

        var paired = state.Decide(new PairClient("t1", "pixel-7-aaaaaa", "Pixel 7", "mobile", "k1"), Now.AddMinutes(4));
        var client = Assert.IsType<ClientAccepted>(paired.Reply).Client;
        Assert.Equal(("pixel-7-aaaaaa", "k1", false), (client.DeviceId, client.KeyHash, client.Revoked));
        state = Fold(state, paired);
        Assert.Equal("pixel-7-aaaaaa", state.FindClientByKeyHash("k1")!.DeviceId);

        var reused = state.Decide(new PairClient("t1", "other-aaaaaa", "Other", "mobile", "k2"), Now.AddMinutes(4));
        Assert.Equal(RefusalReason.TokenNotValid, Assert.IsType<Refused>(reused.Reply).Reason);

        var late = WithToken(state, "t2", Now).Decide(new PairClient("t2", "late-aaaaaa", "Late", "mobile", "k3"), Now.Add(Lifetime));
        Assert.Equal(RefusalReason.TokenNotValid, Assert.IsType<Refused>(late.Reply).Reason);

        var guessed = state.Decide(new PairClient("never-issued", "guess-aaaaaa", "Guess", "mobile", "k4"), Now);
        Assert.Equal(RefusalReason.TokenNotValid, Assert.IsType<Refused>(guessed.Reply).Reason);
    }

    [Fact]
    public void Tokens_need_an_owner_and_only_so_many_may_be_open()
    {
        Assert.Equal(RefusalReason.NotConfigured, Assert.IsType<Refused>(
            PairingState.Empty.Decide(new IssuePairingToken("id", "h", Lifetime, 2), Now).Reply).Reason);

        var state = WithToken(WithToken(Owned(), "a", Now, 2), "b", Now, 2);
        Assert.Equal(RefusalReason.TooManyTokens, Assert.IsType<Refused>(
            state.Decide(new IssuePairingToken("id", "c", Lifetime, 2), Now).Reply).Reason);

        // Once they expire, new ones may be issued and the expired ones leave the state.
        var later = WithToken(state, "c", Now.Add(Lifetime), 2);
        Assert.Equal(["c"], later.TokensByHash.Keys);
    }

    [Fact]
    public void Revocation_is_permanent_and_idempotent()
    {
        var state = Fold(WithToken(Owned(), "t1", Now),
            WithToken(Owned(), "t1", Now).Decide(new PairClient("t1", "pixel-aaaaaa", "Pixel", "mobile", "k1"), Now));

        var revoke = state.Decide(new RevokeClient("pixel-aaaaaa"), Now);
        Assert.IsType<PairingEvents.ClientRevoked>(Assert.Single(revoke.Events));
        state = Fold(state, revoke);
        Assert.True(state.FindClientByKeyHash("k1")!.Revoked);

        var again = state.Decide(new RevokeClient("pixel-aaaaaa"), Now);
        Assert.Empty(again.Events);
        Assert.True(Assert.IsType<ClientRevokedReply>(again.Reply).Client.Revoked);
        Assert.Equal(RefusalReason.UnknownDevice,
            Assert.IsType<Refused>(state.Decide(new RevokeClient("nobody"), Now).Reply).Reason);

        var restored = PairingState.FromSnapshot(state.ToSnapshot());
        Assert.True(restored.FindClientByKeyHash("k1")!.Revoked);
    }
}
