using System.Text.Json.Serialization;
using Akka.Actor;
using Akka.Hosting;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Device;
using Abpa3.Actors.Pairing;
using Abpa3.Actors.Peers;
using Abpa3.Actors.Sync;
using Abpa3.Web.Auth;
using Abpa3.Web.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Abpa3.Web.Endpoints;

/// <summary><c>/api/devices</c>: the device's public description, and the registry of paired devices.</summary>
public static class DevicesApi
{
    /// <summary>SPEC §4 <c>GET /api/devices/info</c>: public, no secrets, no list of peers.</summary>
    public sealed record DeviceInfoResponse(
        [property: JsonPropertyName("device_id")] string DeviceId,
        [property: JsonPropertyName("serial_number")] string SerialNumber,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("ip_address")] string IpAddress,
        [property: JsonPropertyName("state")] string State,
        [property: JsonPropertyName("is_manager")] bool IsManager,
        [property: JsonPropertyName("manager_device_id")] string? ManagerDeviceId,
        [property: JsonPropertyName("cert_sha256")] string CertSha256)
    {
        public static DeviceInfoResponse From(DeviceMessages.DeviceInfo info, string ipAddress) => new(
            info.DeviceId, info.SerialNumber, info.Name, ipAddress,
            DeviceLifecycle.Describe(info.Lifecycle.State), info.Lifecycle.IsManager,
            info.Lifecycle.ManagerDeviceId?.Value, info.CertSha256);
    }

    /// <summary>One entry of <c>GET /api/devices</c> (SPEC §4).</summary>
    public sealed record DeviceEntry(
        [property: JsonPropertyName("device_id")] string DeviceId,
        [property: JsonPropertyName("name")] string Name,
        [property: JsonPropertyName("kind")] string Kind,
        [property: JsonPropertyName("role")] string Role,
        [property: JsonPropertyName("online")] bool Online,
        [property: JsonPropertyName("last_seen")] DateTimeOffset? LastSeen,
        [property: JsonPropertyName("revoked")] bool Revoked,
        [property: JsonPropertyName("paired_at")] DateTimeOffset PairedAt)
    {
        public static DeviceEntry From(ClientDevice client, bool online) =>
            new(client.DeviceId, client.Name, "client", client.Type, online && !client.Revoked, client.LastSeen, client.Revoked, client.PairedAt);

        /// <summary>A paired device: <c>kind</c> is <c>peer</c> (or <c>peer-pending</c> while its pairing awaits proof), <c>role</c> what it is to this device.</summary>
        public static DeviceEntry From(PeerDevice peer, PeerProxyProtocol.PresenceChanged? presence) =>
            new(peer.DeviceId, peer.Name, peer.Pending ? "peer-pending" : "peer", peer.Role == PeerRole.Manager ? "manager" : "sensor",
                presence?.Online == true && !peer.Revoked, Latest(peer.LastSeen, presence?.LastSeen), peer.Revoked, peer.PairedAt);

        private static DateTimeOffset? Latest(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;
    }

    public sealed record DeviceList([property: JsonPropertyName("devices")] IReadOnlyList<DeviceEntry> Devices);

    public static IEndpointRouteBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var devices = routes.MapGroup("/api/devices");
        devices.MapGet("/info", GetInfo).AllowAnonymous();
        devices.MapGet("", List).RequireAuthorization(Roles.OwnerOrAdminPolicy);
        devices.MapDelete("/{deviceId}", Revoke).RequireAuthorization(Roles.OwnerOrAdminPolicy);
        return routes;
    }

    private static async Task<IResult> List(HttpContext context, DeviceGateway gateway, IRequiredActor<SessionRegistry> sessions, NodeSettings settings)
    {
        var clients = (PairingQueries.ClientList)await gateway.AskAsync(PairingQueries.ListClients.Instance, context.RequestAborted);
        var peers = (PairingQueries.PeerList)await gateway.AskAsync(PairingQueries.ListPeers.Instance, context.RequestAborted);
        var presence = (PeerDirectoryProtocol.Presence)await gateway.AskAsync(PeerDirectoryProtocol.GetPresence.Instance, context.RequestAborted);
        var online = await sessions.ActorRef.Ask<SessionRegistryProtocol.OnlineDevices>(
            SessionRegistryProtocol.GetOnlineDevices.Instance, settings.AskTimeout, context.RequestAborted);
        return TypedResults.Ok(new DeviceList(
            peers.Peers.Select(p => DeviceEntry.From(p, presence.Peers.GetValueOrDefault(p.DeviceId)))
                .Concat(clients.Clients.Select(c => DeviceEntry.From(c, online.DeviceIds.Contains(c.DeviceId))))
                .ToList()));
    }

    private static async Task<IResult> Revoke(string deviceId, HttpContext context, DeviceGateway gateway)
    {
        var reply = await gateway.AskAsync(new PairingCommands.RevokeClient(deviceId), context.RequestAborted);
        if (reply is PairingReplies.Refused { Reason: RefusalReason.UnknownDevice })
            reply = await gateway.AskAsync(new PairingCommands.RevokePeer(deviceId), context.RequestAborted);
        return reply switch
        {
            PairingReplies.ClientRevokedReply revoked => TypedResults.Ok(DeviceEntry.From(revoked.Client, online: false)),
            PairingReplies.PeerRevokedReply revoked => TypedResults.Ok(DeviceEntry.From(revoked.Peer, null)),
            PairingReplies.Refused { Reason: RefusalReason.UnknownDevice } r =>
                Problems.Status(StatusCodes.Status404NotFound, "Not found", r.Message),
            _ => throw new InvalidOperationException($"unexpected reply {reply.GetType().Name}"),
        };
    }

    private static async Task<IResult> GetInfo(HttpContext context, DeviceGateway gateway)
    {
        var info = (DeviceMessages.DeviceInfo)await gateway.AskAsync(DeviceMessages.GetDeviceInfo.Instance, context.RequestAborted);
        return TypedResults.Ok(DeviceInfoResponse.From(info, LocalAddress(context)));
    }

    /// <summary>The address the caller reached this node at: the one that works from where it stands.</summary>
    public static string LocalAddress(HttpContext context) =>
        ClientAddress.Normalize(context.Connection.LocalIpAddress)?.ToString() ?? "";
}
