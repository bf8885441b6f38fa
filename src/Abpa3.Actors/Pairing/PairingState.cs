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
public sealed record PairingState(
    DeviceLifecycle Lifecycle,
    ImmutableDictionary<string, UserAccount> Users,
    ImmutableDictionary<string, PairingToken> TokensByHash,
    ImmutableDictionary<string, ClientDevice> Clients,
    ImmutableDictionary<string, string> ClientIdsByKeyHash,
    ImmutableDictionary<string, PeerDevice> Peers)
{
    public static readonly PairingState Empty = new(
        DeviceLifecycle.Initial,
        ImmutableDictionary<string, UserAccount>.Empty,
        ImmutableDictionary<string, PairingToken>.Empty,
        ImmutableDictionary<string, ClientDevice>.Empty,
        ImmutableDictionary<string, string>.Empty,
        ImmutableDictionary<string, PeerDevice>.Empty);

    public UserAccount? Owner => Users.Values.FirstOrDefault(u => u.Role == UserRole.Owner);

    public UserAccount? FindUser(string username) =>
        Users.GetValueOrDefault(UserAccount.Normalize(username));

    public ClientDevice? FindClientByKeyHash(string keyHash) =>
        ClientIdsByKeyHash.TryGetValue(keyHash, out var id) ? Clients[id] : null;

    public PairingDecision Decide(IPairingCommand command, DateTimeOffset now) => command switch
    {
        CreateOwner c => DecideCreateOwner(c, now),
        AddAdmin c => DecideAddAdmin(c, now),
        IssuePairingToken c => DecideIssueToken(c, now),
        PairClient c => DecidePairClient(c, now),
        RevokeClient c => DecideRevokeClient(c, now),
        AcceptManager c => DecideAcceptManager(c, now),
        BeginSensorPairing c => DecideBeginSensorPairing(c, now),
        CompleteSensorPairing c => DecideCompleteSensorPairing(c, now),
        AbandonSensorPairing c => DecideAbandonSensorPairing(c, now),
        RevokePeer c => DecideRevokePeer(c, now),
        MovePeer c => Peers.TryGetValue(c.DeviceId, out var moving) && !moving.Revoked && moving.RemoteAddress != c.RemoteAddress
            ? new PairingDecision([new PeerMoved(c.DeviceId, c.RemoteAddress, now)], new PeerAccepted(moving with { RemoteAddress = c.RemoteAddress }))
            : PairingDecision.Refuse(RefusalReason.UnknownDevice, "no such paired device, or nothing changed"),
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

    private PairingDecision DecideIssueToken(IssuePairingToken command, DateTimeOffset now)
    {
        if (Lifecycle.State == DeviceState.Unconfigured)
            return PairingDecision.Refuse(RefusalReason.NotConfigured, "the device has no owner yet");
        if (TokensByHash.Values.Count(t => t.ExpiresAt > now) >= command.MaxLiveTokens)
            return PairingDecision.Refuse(RefusalReason.TooManyTokens, "too many pairing codes are open; wait for one to expire");
        var issued = new PairingTokenIssued(command.TokenId, command.TokenHash, now + command.Lifetime, now);
        return new PairingDecision([issued], new PairingTokenAccepted(issued.TokenId, issued.ExpiresAt));
    }

    private PairingDecision DecidePairClient(PairClient command, DateTimeOffset now)
    {
        // Unknown, used and expired tokens look alike to the caller.
        if (!TokensByHash.TryGetValue(command.TokenHash, out var token) || token.ExpiresAt <= now)
            return PairingDecision.Refuse(RefusalReason.TokenNotValid, "the pairing code is not valid (used, expired or unknown)");
        if (Clients.ContainsKey(command.DeviceId))
            return PairingDecision.Refuse(RefusalReason.DeviceIdTaken, "that device id is taken");
        var paired = new ClientPaired(command.TokenHash, command.DeviceId, command.Name, command.Type, command.KeyHash, now);
        return new PairingDecision([paired], new ClientAccepted(ToClient(paired)));
    }

    private PairingDecision DecideRevokeClient(RevokeClient command, DateTimeOffset now)
    {
        if (!Clients.TryGetValue(command.DeviceId, out var client))
            return PairingDecision.Refuse(RefusalReason.UnknownDevice, "no such client device");
        if (client.Revoked)
            return new PairingDecision([], new ClientRevokedReply(client));
        return new PairingDecision([new ClientRevoked(command.DeviceId, now)], new ClientRevokedReply(client with { Revoked = true }));
    }

    private PairingDecision DecideAcceptManager(AcceptManager command, DateTimeOffset now)
    {
        var manager = command.Manager with { Role = PeerRole.Manager, PairedAt = now, LastSeen = now, Revoked = false, Pending = false };
        // The same manager pairing again (its answer was lost, or the owner retried) replaces the keys.
        var sameManager = Lifecycle.Role == DeviceRole.Sensor && Lifecycle.ManagerDeviceId?.Value == manager.DeviceId;
        if (!sameManager && (Lifecycle.Role != DeviceRole.None || Lifecycle.State is DeviceState.Paired or DeviceState.Standalone))
            return PairingDecision.Refuse(RefusalReason.AlreadyPaired, $"the device is already {DeviceLifecycle.Describe(Lifecycle.State)}"
                + (Lifecycle.IsManager ? " as a manager" : " to another manager"));
        var events = new List<IPairingEvent>();
        if (Lifecycle.State == DeviceState.Unconfigured)
        {
            if (command.OwnerUsername is null || command.OwnerPasswordHash is null
                || !IsValidAccount(command.OwnerUsername, command.OwnerPasswordHash, out _))
                return PairingDecision.Refuse(RefusalReason.InvalidAccount, "an unconfigured device needs its manager's owner account");
            events.Add(new OwnerCreated(command.OwnerUsername, command.OwnerPasswordHash, now));
        }
        events.Add(new PeerPaired(manager));
        return new PairingDecision(events, new PeerAccepted(manager));
    }

    private PairingDecision DecideBeginSensorPairing(BeginSensorPairing command, DateTimeOffset now)
    {
        if (Lifecycle.State == DeviceState.Unconfigured)
            return PairingDecision.Refuse(RefusalReason.NotConfigured, "the device has no owner yet");
        if (Lifecycle.Role == DeviceRole.Sensor)
            return PairingDecision.Refuse(RefusalReason.NotAManager, "a sensor cannot manage other devices");
        var sensor = command.Sensor with { Role = PeerRole.Sensor, PairedAt = now, LastSeen = null, Revoked = false, Pending = true };
        return new PairingDecision([new PeerPairingPending(sensor)], new PeerAccepted(sensor));
    }

    private PairingDecision DecideCompleteSensorPairing(CompleteSensorPairing command, DateTimeOffset now)
    {
        if (!Peers.TryGetValue(command.DeviceId, out var peer) || peer.Revoked)
            return PairingDecision.Refuse(RefusalReason.UnknownDevice, "no such pairing in progress");
        if (!peer.Pending)
            return new PairingDecision([], new PeerAccepted(peer));
        return new PairingDecision([new PeerPairingCompleted(command.DeviceId, now)], new PeerAccepted(peer with { Pending = false }));
    }

    private PairingDecision DecideAbandonSensorPairing(AbandonSensorPairing command, DateTimeOffset now)
    {
        if (!Peers.TryGetValue(command.DeviceId, out var peer) || !peer.Pending)
            return PairingDecision.Refuse(RefusalReason.UnknownDevice, "no such pairing in progress");
        return new PairingDecision([new PeerPairingAbandoned(command.DeviceId, now)], new PeerAccepted(peer, Abandoned: true));
    }

    private PairingDecision DecideRevokePeer(RevokePeer command, DateTimeOffset now)
    {
        if (!Peers.TryGetValue(command.DeviceId, out var peer))
            return PairingDecision.Refuse(RefusalReason.UnknownDevice, "no such paired device");
        if (peer.Revoked)
            return new PairingDecision([], new PeerRevokedReply(peer));
        return new PairingDecision([new PeerRevoked(command.DeviceId, now)], new PeerRevokedReply(peer with { Revoked = true }));
    }

    public PairingState Apply(IPairingEvent @event) => @event switch
    {
        OwnerCreated e => this with
        {
            Lifecycle = Lifecycle.OwnerCreated().Next ?? Lifecycle,
            Users = Users.SetItem(UserAccount.Normalize(e.Username), ToAccount(e)),
        },
        AdminAdded e => this with { Users = Users.SetItem(UserAccount.Normalize(e.Username), ToAccount(e)) },
        PairingTokenIssued e => this with
        {
            // Expired tokens leave with the next issue, so the set stays small.
            TokensByHash = TokensByHash
                .RemoveRange(TokensByHash.Values.Where(t => t.ExpiresAt <= e.At).Select(t => t.TokenHash))
                .SetItem(e.TokenHash, new PairingToken(e.TokenId, e.TokenHash, e.ExpiresAt)),
        },
        ClientPaired e => this with
        {
            TokensByHash = TokensByHash.Remove(e.TokenHash),
            Clients = Clients.SetItem(e.DeviceId, ToClient(e)),
            ClientIdsByKeyHash = ClientIdsByKeyHash.SetItem(e.KeyHash, e.DeviceId),
        },
        ClientSeen e when Clients.TryGetValue(e.DeviceId, out var c) => this with
        {
            Clients = Clients.SetItem(e.DeviceId, c with { LastSeen = e.At }),
        },
        ClientRevoked e when Clients.TryGetValue(e.DeviceId, out var c) => this with
        {
            Clients = Clients.SetItem(e.DeviceId, c with { Revoked = true }),
        },
        ClientSeen or ClientRevoked => this,
        PeerPaired e => this with
        {
            Peers = Peers.SetItem(e.Peer.DeviceId, e.Peer),
            Lifecycle = Lifecycle.PairedAsSensor(DeviceId.Parse(e.Peer.DeviceId)).Next ?? Lifecycle,
        },
        PeerPairingPending e => this with { Peers = Peers.SetItem(e.Peer.DeviceId, e.Peer) },
        PeerPairingCompleted e when Peers.TryGetValue(e.DeviceId, out var p) => this with
        {
            Peers = Peers.SetItem(e.DeviceId, p with { Pending = false, LastSeen = e.At }),
            Lifecycle = Lifecycle.PairedAsManager().Next ?? Lifecycle,
        },
        PeerPairingAbandoned e => this with { Peers = Peers.Remove(e.DeviceId) },
        PeerRevoked e when Peers.TryGetValue(e.DeviceId, out var p) => WithoutPeer(e.DeviceId, p),
        PeerSeen e when Peers.TryGetValue(e.DeviceId, out var p) => this with { Peers = Peers.SetItem(e.DeviceId, p with { LastSeen = e.At }) },
        PeerMoved e when Peers.TryGetValue(e.DeviceId, out var p) => this with { Peers = Peers.SetItem(e.DeviceId, p with { RemoteAddress = e.RemoteAddress }) },
        PeerPairingCompleted or PeerRevoked or PeerSeen or PeerMoved => this,
        _ => throw new ArgumentOutOfRangeException(nameof(@event), @event.GetType().Name, "unknown pairing event"),
    };

    /// <summary>A revoked peer stays on record; when no paired peer is left, the device is configured again.</summary>
    private PairingState WithoutPeer(string deviceId, PeerDevice peer)
    {
        var peers = Peers.SetItem(deviceId, peer with { Revoked = true });
        var anyLeft = peers.Values.Any(p => !p.Revoked && !p.Pending);
        return this with { Peers = peers, Lifecycle = anyLeft ? Lifecycle : Lifecycle.LastPeerRevoked().Next ?? Lifecycle };
    }

    public PairingSnapshot ToSnapshot() =>
        new(Lifecycle.State, Lifecycle.Role, Lifecycle.ManagerDeviceId?.Value, Users.Values.OrderBy(u => u.CreatedAt).ToList(),
            TokensByHash.Values.OrderBy(t => t.ExpiresAt).ToList(), Clients.Values.OrderBy(c => c.PairedAt).ToList(),
            Peers.Values.OrderBy(p => p.PairedAt).ToList());

    public static PairingState FromSnapshot(PairingSnapshot snapshot)
    {
        var clients = snapshot.Clients ?? [];
        return new(
            new DeviceLifecycle(snapshot.State, snapshot.Role,
                snapshot.ManagerDeviceId is null ? null : DeviceId.Parse(snapshot.ManagerDeviceId)),
            snapshot.Users.ToImmutableDictionary(u => UserAccount.Normalize(u.Username)),
            (snapshot.Tokens ?? []).ToImmutableDictionary(t => t.TokenHash),
            clients.ToImmutableDictionary(c => c.DeviceId),
            clients.ToImmutableDictionary(c => c.KeyHash, c => c.DeviceId),
            (snapshot.Peers ?? []).ToImmutableDictionary(p => p.DeviceId));
    }

    private static ClientDevice ToClient(ClientPaired e) => new(e.DeviceId, e.Name, e.Type, e.KeyHash, e.At, e.At, Revoked: false);

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
