using Akka.Actor;
using Akka.Hosting;
using Akka.Pattern;
using Abpa3.Actors.Identity;
using Abpa3.Actors.Pairing;
using static Abpa3.Actors.Device.DeviceMessages;
using static Abpa3.Actors.Pairing.PairingQueries;

namespace Abpa3.Actors.Device;

/// <summary>
/// Root of the node: owns the identity and the current <see cref="DeviceLifecycle"/>, supervises the
/// pairing coordinator (restarted with backoff if its journal fails) and routes the edge's requests.
/// Requests that arrive before the coordinator has recovered wait in the stash.
/// </summary>
public sealed class DeviceSupervisor : ReceiveActor, IWithStash
{
    private readonly NodeIdentity _identity;
    private readonly IActorRef _pairing;
    private DeviceLifecycle _lifecycle = DeviceLifecycle.Initial;

    public DeviceSupervisor(NodeIdentity identity, PairingSettings pairingSettings, TimeProvider clock)
    {
        _identity = identity;
        var coordinator = PairingCoordinator.Props(identity.DeviceId, pairingSettings, Self, clock);
        _pairing = Context.ActorOf(
            BackoffSupervisor.Props(Backoff.OnStop(
                coordinator, "pairing-coordinator",
                pairingSettings.RestartMinBackoff, pairingSettings.RestartMaxBackoff, randomFactor: 0.2, maxNrOfRetries: -1)),
            "pairing");
        Recovering();
    }

    public IStash Stash { get; set; } = null!;

    private void Recovering()
    {
        Receive<LifecycleChanged>(changed =>
        {
            _lifecycle = changed.Lifecycle;
            Become(Ready);
            Stash.UnstashAll();
        });
        ReceiveAny(_ => Stash.Stash());
    }

    private void Ready()
    {
        Receive<LifecycleChanged>(changed => _lifecycle = changed.Lifecycle);
        Receive<GetDeviceInfo>(_ => Sender.Tell(new DeviceInfo(
            _identity.DeviceId.Value, _identity.SerialNumber, _identity.Name, _identity.CertSha256, _lifecycle)));
        Receive<SetupOwner>(HandleSetup);
        Receive<IPairingCommand>(command => _pairing.Forward(command));
        Receive<IPairingQuery>(query => _pairing.Forward(query));
    }

    private void HandleSetup(SetupOwner setup)
    {
        // The state check comes first: once claimed, setup is closed whatever code is offered.
        if (_lifecycle.State != DeviceState.Unconfigured)
            Sender.Tell(new PairingReplies.Refused(RefusalReason.AlreadyConfigured, "the device already has an owner"));
        else if (!_identity.SetupCode.Matches(setup.SetupCode))
            Sender.Tell(new PairingReplies.Refused(RefusalReason.WrongSetupCode, "wrong setup code"));
        else
            _pairing.Forward(new PairingCommands.CreateOwner(setup.Username, setup.PasswordHash));
    }

    public static Props Props(NodeIdentity identity, PairingSettings pairingSettings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new DeviceSupervisor(identity, pairingSettings, clock));
}

public static class DeviceSupervisorRegistration
{
    /// <summary>Starts the node's root actor and registers it for <c>IRequiredActor&lt;DeviceSupervisor&gt;</c>.</summary>
    public static AkkaConfigurationBuilder AddDeviceSupervisor(
        this AkkaConfigurationBuilder builder, NodeIdentity identity, PairingSettings pairingSettings, TimeProvider clock) =>
        builder.WithActors((system, registry) =>
            registry.Register<DeviceSupervisor>(
                system.ActorOf(DeviceSupervisor.Props(identity, pairingSettings, clock), "device")));
}
