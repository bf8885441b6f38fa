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
}
