namespace Abpa3.Actors.Device;

/// <summary>Messages the <see cref="DeviceSupervisor"/> answers itself.</summary>
public static class DeviceMessages
{
    /// <summary>Answered with <see cref="DeviceInfo"/>.</summary>
    public sealed class GetDeviceInfo
    {
        public static readonly GetDeviceInfo Instance = new();
        private GetDeviceInfo() { }
    }

    /// <summary>The device's public description (SPEC §4 <c>/api/devices/info</c>, without the address the edge adds).</summary>
    public sealed record DeviceInfo(
        string DeviceId,
        string SerialNumber,
        string Name,
        string CertSha256,
        DeviceLifecycle Lifecycle);

    /// <summary>
    /// Claim an unconfigured device: checked against the setup code, then the owner account is created.
    /// Answered with <see cref="Pairing.PairingReplies.AccountCreated"/> or <see cref="Pairing.PairingReplies.Refused"/>.
    /// </summary>
    public sealed record SetupOwner(string Username, string PasswordHash, string? SetupCode);

    /// <summary>
    /// Checks a setup code without claiming anything, so the edge hashes a password only for a code
    /// that can succeed. Answered with <see cref="SetupCodeAccepted"/> or <see cref="Pairing.PairingReplies.Refused"/>;
    /// a wrong code counts toward the lock exactly as in <see cref="SetupOwner"/>.
    /// </summary>
    public sealed record CheckSetupCode(string? SetupCode);

    public sealed class SetupCodeAccepted
    {
        public static readonly SetupCodeAccepted Instance = new();
        private SetupCodeAccepted() { }
    }

    /// <summary>Answered instead of waiting when too many requests arrive while the node is still recovering.</summary>
    public sealed class NodeBusy
    {
        public static readonly NodeBusy Instance = new();
        private NodeBusy() { }
    }
}
