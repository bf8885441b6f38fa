namespace Abpa3.Actors.Pairing;

/// <summary>Requests that may change pairing state; each is answered with one of <see cref="PairingReplies"/>.</summary>
public interface IPairingCommand;

public static class PairingCommands
{
    /// <summary>Create the owner account. The setup code has been checked by the device supervisor.</summary>
    public sealed record CreateOwner(string Username, string PasswordHash) : IPairingCommand;

    /// <summary>Add an administrator account (the edge only lets the owner ask).</summary>
    public sealed record AddAdmin(string Username, string PasswordHash) : IPairingCommand;
}

public enum RefusalReason { WrongSetupCode, AlreadyConfigured, NotConfigured, InvalidAccount, UsernameTaken }

public static class PairingReplies
{
    public sealed record AccountCreated(UserAccount Account);

    public sealed record Refused(RefusalReason Reason, string Message);
}
