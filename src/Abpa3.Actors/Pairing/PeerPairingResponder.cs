using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Abpa3.Actors.Device;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Remoting;
using Abpa3.Actors.Serialization;

namespace Abpa3.Actors.Pairing;

/// <summary>The target's side of device pairing, as messages (the edge's <c>/api/devices/pair/*</c> translate to these).</summary>
public static class PeerPairingProtocol
{
    /// <summary>A manager asks to pair, with its first J-PAKE round. Answered with <see cref="Challenged"/> or <see cref="PairingReplies.Refused"/>.</summary>
    public sealed record Begin(string ManagerId, string ManagerName, string ManagerCertSha256, DevicePake.Round1 ManagerRound1) : IPeerPairingRequest;

    public sealed record Challenged(string AttemptId, DevicePake.Round1 Round1, DevicePake.Round2 Round2, string DeviceId, string CertSha256,
        string RemoteAddress);

    /// <summary>
    /// The manager's second round and key confirmation, its link address and (for an unconfigured target)
    /// its sealed owner account. Answered with <see cref="Accepted"/>, <see cref="WrongCode"/> or <see cref="PairingReplies.Refused"/>.
    /// </summary>
    public sealed record Confirm(string AttemptId, DevicePake.Round2 Round2, DevicePake.Round3 Confirmation, string ManagerRemoteAddress,
        byte[]? SealedOwner) : IPeerPairingRequest;

    public sealed record Accepted(DevicePake.Round3 Confirmation, PeerDevice Manager);

    public sealed record WrongCode(int AttemptsLeft);

    /// <summary>The owner re-opens pairing after a lock. Answered with <see cref="Unlocked"/>.</summary>
    public sealed class Unlock : IPeerPairingRequest
    {
        public static readonly Unlock Instance = new();
        private Unlock() { }
    }

    public sealed class Unlocked
    {
        public static readonly Unlocked Instance = new();
        private Unlocked() { }
    }

    /// <summary>The owner account as the manager seals it for an unconfigured target.</summary>
    public sealed record OwnerAccount(string Username, string PasswordHash);

    public static byte[] EncodeOwner(OwnerAccount owner) => JsonSerializer.SerializeToUtf8Bytes(owner, MeshJsonSerializer.Options);

    public static OwnerAccount? DecodeOwner(byte[] bytes)
    {
        try
        {
            return JsonSerializer.Deserialize<OwnerAccount>(bytes, MeshJsonSerializer.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>What the device supervisor forwards to the pairing responder.</summary>
public interface IPeerPairingRequest;

/// <summary>
/// Answers a manager's pairing handshake on the target (SPEC §5, THREATS T4). Each attempt is one J-PAKE
/// exchange over this device's setup code; a failed proof uses the attempt up, so a guesser gets one
/// guess per attempt, and after too many wrong codes pairing locks until the owner unlocks it or the
/// device restarts. Open attempts are few and short-lived, so flooding costs memory only within bounds.
/// </summary>
public sealed class PeerPairingResponder : ReceiveActor
{
    private sealed record Attempt(PakeResponder Pake, DevicePake.Context Context, string ManagerName, DateTimeOffset Expires);

    private sealed record Committed(PairingReplies.PeerAccepted Reply, DevicePake.Round3 Confirmation, IActorRef Requester);

    private readonly NodeIdentity _identity;
    private readonly DevicePairingSettings _settings;
    private readonly string _remoteAddress;
    private readonly IActorRef _pairing;
    private readonly TimeProvider _clock;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Attempt> _attempts = new();
    private int _wrongCodes;

    public PeerPairingResponder(NodeIdentity identity, DevicePairingSettings settings, string remoteAddress, IActorRef pairing, TimeProvider clock)
    {
        _identity = identity;
        _settings = settings;
        _remoteAddress = remoteAddress;
        _pairing = pairing;
        _clock = clock;

        Receive<PeerPairingProtocol.Begin>(Begin);
        Receive<PeerPairingProtocol.Confirm>(Confirm);
        Receive<Committed>(committed =>
        {
            if (_settings.ExitAfterAccept)
            {
                // Fault injection for crash-consistency tests: die like kill -9 after the pairing is
                // written and before the manager hears of it.
                Process.GetCurrentProcess().Kill();
            }
            committed.Requester.Tell(new PeerPairingProtocol.Accepted(committed.Confirmation, committed.Reply.Peer));
        });
        // Refusals and failures of the commit come back through PipeTo with the requester as sender.
        Receive<PairingReplies.Refused>(refused => Sender.Tell(refused));
        Receive<Status.Failure>(failure => Sender.Tell(failure));
        Receive<PeerPairingProtocol.Unlock>(_ =>
        {
            _wrongCodes = 0;
            Sender.Tell(PeerPairingProtocol.Unlocked.Instance);
        });
    }

    private bool Locked => _wrongCodes >= _settings.MaxWrongCodes;

    private void Begin(PeerPairingProtocol.Begin begin)
    {
        if (Locked)
        {
            Sender.Tell(new PairingReplies.Refused(RefusalReason.PairingLocked,
                "pairing is locked after too many wrong setup codes; the device's owner can unlock it, or restart the device"));
            return;
        }
        var now = _clock.GetUtcNow();
        foreach (var expired in _attempts.Where(a => a.Value.Expires <= now).Select(a => a.Key).ToList())
            _attempts.Remove(expired);
        if (_attempts.Count >= _settings.MaxOpenAttempts)
        {
            Sender.Tell(new PairingReplies.Refused(RefusalReason.Busy, "too many pairing attempts are open; try again shortly"));
            return;
        }
        // The code never leaves the device; only J-PAKE's values, which reveal nothing about it, do.
        var context = new DevicePake.Context(begin.ManagerId, _identity.DeviceId.Value, begin.ManagerCertSha256, _identity.CertSha256);
        var pake = new PakeResponder(context, _identity.SetupCode.Reveal());
        if (pake.Respond(begin.ManagerRound1) is not { } rounds)
        {
            Sender.Tell(new PairingReplies.Refused(RefusalReason.InvalidHandshake, "the manager's first round is malformed"));
            return;
        }
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        _attempts[id] = new Attempt(pake, context, begin.ManagerName, now + _settings.AttemptLifetime);
        Sender.Tell(new PeerPairingProtocol.Challenged(id, rounds.Round1, rounds.Round2, _identity.DeviceId.Value, _identity.CertSha256, _remoteAddress));
    }

    private void Confirm(PeerPairingProtocol.Confirm confirm)
    {
        if (Locked)
        {
            Sender.Tell(new PairingReplies.Refused(RefusalReason.PairingLocked,
                "pairing is locked after too many wrong setup codes; the device's owner can unlock it, or restart the device"));
            return;
        }
        // One proof per attempt, right or wrong: the attempt is used up here.
        if (!_attempts.Remove(confirm.AttemptId, out var attempt) || attempt.Expires <= _clock.GetUtcNow())
        {
            Sender.Tell(new PairingReplies.Refused(RefusalReason.AttemptExpired, "no such pairing attempt (expired or already used); start again"));
            return;
        }
        var result = attempt.Pake.Accept(confirm.Round2, confirm.Confirmation);
        if (result is null)
        {
            _wrongCodes++;
            _log.Warning("Device pairing from {0} failed: wrong setup code or altered handshake ({1} of {2} before pairing locks)",
                attempt.Context.ManagerId, _wrongCodes, _settings.MaxWrongCodes);
            Sender.Tell(new PeerPairingProtocol.WrongCode(Math.Max(0, _settings.MaxWrongCodes - _wrongCodes)));
            return;
        }
        var (confirmation, secret) = result.Value;
        PeerPairingProtocol.OwnerAccount? owner = null;
        if (confirm.SealedOwner is { } sealedOwner)
        {
            owner = DevicePake.Open(secret, attempt.Context, sealedOwner) is { } plain ? PeerPairingProtocol.DecodeOwner(plain) : null;
            if (owner is null)
            {
                Sender.Tell(new PairingReplies.Refused(RefusalReason.InvalidAccount, "the manager's owner account could not be read"));
                return;
            }
        }
        var keys = PairKeys.Derive(secret, _identity.DeviceId.Value, attempt.Context.ManagerId);
        var manager = new PeerDevice(attempt.Context.ManagerId, attempt.ManagerName, PeerRole.Manager, attempt.Context.ManagerCertSha256,
            confirm.ManagerRemoteAddress, HttpUrl: "", keys.OutgoingBase64, keys.IncomingBase64, _clock.GetUtcNow(), null,
            Revoked: false, Pending: false);
        var requester = Sender;
        _pairing.Ask<object>(new PairingCommands.AcceptManager(manager, owner?.Username, owner?.PasswordHash), _settings.AttemptLifetime)
            .PipeTo(Self, requester,
                reply => reply is PairingReplies.PeerAccepted accepted ? new Committed(accepted, confirmation, requester) : reply,
                failure => new Status.Failure(failure));
    }

    public static Props Props(NodeIdentity identity, DevicePairingSettings settings, string remoteAddress, IActorRef pairing, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new PeerPairingResponder(identity, settings, remoteAddress, pairing, clock));
}
