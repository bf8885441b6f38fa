using Abpa3.Actors.Device;

namespace Abpa3.Actors.Pairing;

/// <summary>Read-only questions to the <see cref="PairingCoordinator"/>.</summary>
public interface IPairingQuery;

public static class PairingQueries
{
    /// <summary>Answered with <see cref="UserFound"/> or <see cref="UserNotFound"/>.</summary>
    public sealed record GetUser(string Username) : IPairingQuery;

    public sealed record UserFound(UserAccount Account);

    public sealed record UserNotFound(string Username);

    /// <summary>Told by the coordinator to its parent after recovery and after every change of the lifecycle.</summary>
    public sealed record LifecycleChanged(DeviceLifecycle Lifecycle);

    /// <summary>Who holds this device key? Answered with <see cref="ClientAuthenticated"/> or <see cref="ClientRefused"/>.</summary>
    public sealed record AuthenticateClient(string KeyHash) : IPairingQuery;

    public sealed record ClientAuthenticated(ClientDevice Client);

    /// <summary>Unknown key, or a revoked device (<see cref="Revoked"/> tells which, for the close code).</summary>
    public sealed record ClientRefused(bool Revoked);

    /// <summary>Answered with <see cref="ClientList"/>.</summary>
    public sealed class ListClients : IPairingQuery
    {
        public static readonly ListClients Instance = new();
        private ListClients() { }
    }

    public sealed record ClientList(IReadOnlyList<ClientDevice> Clients);

    /// <summary>A client was active (connected or sent something); the coordinator decides whether to write it.</summary>
    public sealed record ClientActive(string DeviceId) : IPairingQuery;

    /// <summary>Published on the event stream when a client is revoked, so its open sessions close at once.</summary>
    public sealed record ClientRevokedNotice(string DeviceId);

    /// <summary>Published on the event stream when the client registry changes (the <c>devices</c> topic).</summary>
    public sealed record ClientRegistryChanged(string Change, ClientDevice Client);

    /// <summary>The owner account. Answered with <see cref="UserFound"/> or <see cref="UserNotFound"/>.</summary>
    public sealed class GetOwner : IPairingQuery
    {
        public static readonly GetOwner Instance = new();
        private GetOwner() { }
    }

    /// <summary>Every paired, pending and revoked peer device. Answered with <see cref="PeerList"/>.</summary>
    public sealed class ListPeers : IPairingQuery
    {
        public static readonly ListPeers Instance = new();
        private ListPeers() { }
    }

    public sealed record PeerList(IReadOnlyList<PeerDevice> Peers);

    /// <summary>A peer was heard from over the link; the coordinator decides whether to write it.</summary>
    public sealed record PeerActive(string DeviceId) : IPairingQuery;

    /// <summary>
    /// Published on the event stream when the peer registry changes: <c>paired</c>, <c>pending</c>,
    /// <c>abandoned</c> or <c>revoked</c>. The peer directory starts, restarts and stops links from it.
    /// </summary>
    public sealed record PeerRegistryChanged(string Change, PeerDevice Peer);
}
