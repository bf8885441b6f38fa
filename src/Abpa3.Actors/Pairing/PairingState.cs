using System.Collections.Immutable;
using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;
using static Abpa3.Actors.Pairing.PairingCommands;
using static Abpa3.Actors.Pairing.PairingEvents;
using static Abpa3.Actors.Pairing.PairingReplies;

namespace Abpa3.Actors.Pairing;

/// <summary>What a command decided: the events to persist (none when refused) and the reply once they are written.</summary>
public sealed record PairingDecision(IReadOnlyList<IPairingEvent> Events, object Reply)
{
    public static PairingDecision Refuse(RefusalReason reason, string message) => new([], new Refused(reason, message));
}

/// <summary>
/// The pairing coordinator's state and rules, free of any actor: <see cref="Decide"/> turns a command
/// into events, <see cref="Apply"/> folds an event into the next state.
/// </summary>
public sealed record PairingState(DeviceLifecycle Lifecycle, ImmutableDictionary<string, UserAccount> Users)
{
    public static readonly PairingState Empty = new(DeviceLifecycle.Initial, ImmutableDictionary<string, UserAccount>.Empty);

    public UserAccount? FindUser(string username) =>
        Users.GetValueOrDefault(UserAccount.Normalize(username));

    public PairingDecision Decide(IPairingCommand command, DateTimeOffset now) => command switch
    {
        CreateOwner c => DecideCreateOwner(c, now),
        AddAdmin c => DecideAddAdmin(c, now),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "unknown pairing command"),
    };

    private PairingDecision DecideCreateOwner(CreateOwner command, DateTimeOffset now)
    {
        var transition = Lifecycle.OwnerCreated();
        if (!transition.Allowed)
            return PairingDecision.Refuse(RefusalReason.AlreadyConfigured, transition.Refusal!);
        if (!IsValidAccount(command.Username, command.PasswordHash, out var problem))
            return PairingDecision.Refuse(RefusalReason.InvalidAccount, problem);
        var created = new OwnerCreated(command.Username, command.PasswordHash, now);
        return new PairingDecision([created], new AccountCreated(ToAccount(created)));
    }

    private PairingDecision DecideAddAdmin(AddAdmin command, DateTimeOffset now)
    {
        if (Lifecycle.State == DeviceState.Unconfigured)
            return PairingDecision.Refuse(RefusalReason.NotConfigured, "the device has no owner yet");
        if (!IsValidAccount(command.Username, command.PasswordHash, out var problem))
            return PairingDecision.Refuse(RefusalReason.InvalidAccount, problem);
        if (FindUser(command.Username) is not null)
            return PairingDecision.Refuse(RefusalReason.UsernameTaken, "that username is taken");
        var added = new AdminAdded(command.Username, command.PasswordHash, now);
        return new PairingDecision([added], new AccountCreated(ToAccount(added)));
    }

    public PairingState Apply(IPairingEvent @event) => @event switch
    {
        OwnerCreated e => this with
        {
            Lifecycle = Lifecycle.OwnerCreated().Next ?? Lifecycle,
            Users = Users.SetItem(UserAccount.Normalize(e.Username), ToAccount(e)),
        },
        AdminAdded e => this with { Users = Users.SetItem(UserAccount.Normalize(e.Username), ToAccount(e)) },
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown pairing event"),
    };

    public PairingSnapshot ToSnapshot() =>
        new(Lifecycle.State, Lifecycle.Role, Lifecycle.ManagerDeviceId?.Value, Users.Values.OrderBy(u => u.CreatedAt).ToList());

    public static PairingState FromSnapshot(PairingSnapshot snapshot) =>
        new(
            new DeviceLifecycle(snapshot.State, snapshot.Role,
                snapshot.ManagerDeviceId is null ? null : DeviceId.Parse(snapshot.ManagerDeviceId)),
            snapshot.Users.ToImmutableDictionary(u => UserAccount.Normalize(u.Username)));

    private static UserAccount ToAccount(OwnerCreated e) => new(e.Username, e.PasswordHash, UserRole.Owner, e.At);

    private static UserAccount ToAccount(AdminAdded e) => new(e.Username, e.PasswordHash, UserRole.Admin, e.At);

    private static bool IsValidAccount(string username, string passwordHash, out string problem)
    {
        problem = !UserAccount.IsValidUsername(username)
            ? "a username has 1–64 of letters, digits, '.', '_' and '-'"
            : string.IsNullOrEmpty(passwordHash) ? "a password hash is required" : "";
        return problem.Length == 0;
    }
}
