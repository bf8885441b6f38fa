using Akka.Actor;
using Akka.TestKit;
using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Tests.Support;
using Microsoft.Data.Sqlite;
using static Abpa3.Actors.Pairing.PairingCommands;
using static Abpa3.Actors.Pairing.PairingQueries;
using static Abpa3.Actors.Pairing.PairingReplies;

namespace Abpa3.Actors.Tests.Pairing;

/// <summary>The coordinator against a real SQLite journal, restarted by stopping and starting the node.</summary>
public sealed class PairingCoordinatorSpecs : IDisposable
{
    private static readonly DeviceId Device = DeviceId.Parse("coordinator-under-test");
    private static readonly PairingSettings Settings = new(
        SnapshotEvery: 100, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1),
        LastSeenWriteInterval: TimeSpan.FromSeconds(60), TokenLifetime: TimeSpan.FromMinutes(5), MaxLiveTokens: 4);
    private readonly TempDataDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static (IActorRef Coordinator, TestProbe Listener, TestProbe Client) Spawn(ActorNode node, PairingSettings? settings = null)
    {
        var kit = new Akka.TestKit.Xunit2.TestKit(node.System); // over the node's system: never disposed here
        var listener = kit.CreateTestProbe();
        var client = kit.CreateTestProbe();
        var coordinator = node.System.ActorOf(
            PairingCoordinator.Props(Device, settings ?? Settings, listener.Ref, TimeProvider.System));
        return (coordinator, listener, client);
    }

    [Fact]
    public async Task A_new_journal_recovers_to_unconfigured()
    {
        await using var node = await ActorNode.StartAsync(_dir.Path);
        var (_, listener, _) = Spawn(node);

        Assert.Equal(DeviceLifecycle.Initial, listener.ExpectMsg<LifecycleChanged>().Lifecycle);
    }

    [Fact]
    public async Task Creating_the_owner_is_persisted_and_survives_a_restart()
    {
        await using (var node = await ActorNode.StartAsync(_dir.Path))
        {
            var (coordinator, listener, client) = Spawn(node);
            listener.ExpectMsg<LifecycleChanged>();

            coordinator.Tell(new CreateOwner("alice", "pbkdf2-hash"), client.Ref);

            Assert.Equal(DeviceState.Configured, listener.ExpectMsg<LifecycleChanged>().Lifecycle.State);
            Assert.Equal("alice", client.ExpectMsg<AccountCreated>().Account.Username);
        }

        await using (var restarted = await ActorNode.StartAsync(_dir.Path))
        {
            var (coordinator, listener, client) = Spawn(restarted);
            Assert.Equal(DeviceState.Configured, listener.ExpectMsg<LifecycleChanged>().Lifecycle.State);

            coordinator.Tell(new GetUser("alice"), client.Ref);
            var found = client.ExpectMsg<UserFound>().Account;
            Assert.Equal(("pbkdf2-hash", UserRole.Owner), (found.PasswordHash, found.Role));

            coordinator.Tell(new CreateOwner("mallory", "other"), client.Ref);
            Assert.Equal(RefusalReason.AlreadyConfigured, client.ExpectMsg<Refused>().Reason);
        }
    }

    [Fact]
    public async Task Two_owners_racing_for_the_device_get_one_winner()
    {
        await using var node = await ActorNode.StartAsync(_dir.Path);
        var (coordinator, listener, client) = Spawn(node);
        listener.ExpectMsg<LifecycleChanged>();

        coordinator.Tell(new CreateOwner("alice", "h1"), client.Ref);
        coordinator.Tell(new CreateOwner("mallory", "h2"), client.Ref);

        Assert.Equal("alice", client.ExpectMsg<AccountCreated>().Account.Username);
        Assert.Equal(RefusalReason.AlreadyConfigured, client.ExpectMsg<Refused>().Reason);
        coordinator.Tell(new GetUser("mallory"), client.Ref);
        client.ExpectMsg<UserNotFound>();
    }

    [Fact]
    public async Task State_recovers_from_a_snapshot_plus_the_events_after_it()
    {
        var snapshotEveryTwo = Settings with { SnapshotEvery = 2 };
        await using (var node = await ActorNode.StartAsync(_dir.Path))
        {
            var (coordinator, listener, client) = Spawn(node, snapshotEveryTwo);
            listener.ExpectMsg<LifecycleChanged>();
            coordinator.Tell(new CreateOwner("alice", "h"), client.Ref);
            client.ExpectMsg<AccountCreated>();
            foreach (var admin in new[] { "bob", "carol", "dave" })
            {
                coordinator.Tell(new AddAdmin(admin, "h-" + admin), client.Ref);
                client.ExpectMsg<AccountCreated>();
            }
            await AwaitSnapshotAsync(snapshotCount => snapshotCount > 0);
        }

        await using (var restarted = await ActorNode.StartAsync(_dir.Path))
        {
            var (coordinator, listener, client) = Spawn(restarted, snapshotEveryTwo);
            Assert.Equal(DeviceState.Configured, listener.ExpectMsg<LifecycleChanged>().Lifecycle.State);
            foreach (var user in new[] { "alice", "bob", "carol", "dave" })
            {
                coordinator.Tell(new GetUser(user), client.Ref);
                Assert.Equal(user, client.ExpectMsg<UserFound>().Account.Username);
            }
        }
    }

    private async Task AwaitSnapshotAsync(Func<long, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        await using var connection = new SqliteConnection(Persistence.SqliteJournal.ConnectionString(
            Persistence.SqliteJournal.SnapshotPath(_dir.Path)));
        await connection.OpenAsync();
        while (true)
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM snapshot WHERE persistence_id = $id";
            command.Parameters.AddWithValue("$id", $"pairing-{Device}");
            if (condition((long)(await command.ExecuteScalarAsync())!))
                return;
            Assert.True(DateTime.UtcNow < deadline, "no snapshot was written");
            await Task.Delay(50);
        }
    }
}
