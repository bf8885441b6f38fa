using Akka.Actor;

namespace Abpa3.Actors.Device;

/// <summary>
/// Supervision that ignores <c>Kill</c>. Akka.Remote's untrusted mode drops remote <c>PoisonPill</c> and
/// selections to untrusted paths, but a remote <c>Kill</c> sent to a known actor still arrives; under this
/// strategy the actor resumes with its state intact instead of stopping (THREATS T7). Everything else
/// keeps Akka's default handling.
/// </summary>
public static class KillProof
{
    public static readonly SupervisorStrategy Strategy = new OneForOneStrategy(cause => cause switch
    {
        ActorKilledException => Directive.Resume,
        _ => SupervisorStrategy.DefaultDecider.Decide(cause),
    });
}

/// <summary>The same rule for the top-level actors, through <c>akka.actor.guardian-supervisor-strategy</c>.</summary>
public sealed class KillProofGuardian : SupervisorStrategyConfigurator
{
    public override SupervisorStrategy Create() => KillProof.Strategy;
}
