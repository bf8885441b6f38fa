namespace Abpa3.Actors.Pairing;

/// <summary>Requests that may change pairing state; each is answered with one of <see cref="PairingReplies"/>.</summary>
public interface IPairingCommand;

public static class PairingCommands
{
    /// <summary>
    /// Create the owner account. Internal: only the device supervisor sends it, after the setup code
    /// matched, so no other sender of pairing commands can claim the device.
    /// </summary>
    internal sealed record CreateOwner(string Username, string PasswordHash) : IPairingCommand;

    /// <summary>Add an administrator account (the edge only lets the owner ask).</summary>
    public sealed record AddAdmin(string Username, string PasswordHash) : IPairingCommand;
}

public enum RefusalReason { WrongSetupCode, SetupLocked, AlreadyConfigured, NotConfigured, InvalidAccount, UsernameTaken }

public static class PairingReplies
{
    public sealed record AccountCreated(UserAccount Account);

    public sealed record Refused(RefusalReason Reason, string Message);
}
