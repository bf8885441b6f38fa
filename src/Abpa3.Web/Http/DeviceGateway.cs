using Akka.Actor;
using Akka.Hosting;
using Abpa3.Actors.Configuration;
using Abpa3.Actors.Device;

namespace Abpa3.Web.Http;

/// <summary>The edge's one way into the node: Ask the device supervisor, bounded by the node's ask timeout and the request's lifetime.</summary>
public sealed class DeviceGateway(IRequiredActor<DeviceSupervisor> supervisor, NodeSettings settings)
{
    public async Task<object> AskAsync(object message, CancellationToken cancellationToken)
    {
        var reply = await supervisor.ActorRef.Ask<object>(message, settings.AskTimeout, cancellationToken);
        return reply is DeviceMessages.NodeBusy ? throw new NodeBusyException() : reply;
    }
}

/// <summary>The node declined to queue the request (it is still recovering and already holds enough); answered 503.</summary>
public sealed class NodeBusyException() : Exception("the node is busy recovering");
