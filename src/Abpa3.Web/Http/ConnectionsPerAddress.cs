using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Abpa3.Web.Http;

/// <summary>
/// Kestrel connection middleware: at most so many open connections per client address (an IPv6 client
/// counts as its /64). One host on the LAN cannot take every connection the node can hold; the rest of
/// the LAN, and already-paired devices elsewhere, are unaffected. Over the limit, a connection is
/// closed before TLS or HTTP cost anything.
/// </summary>
public sealed class ConnectionsPerAddress(int limit)
{
    private readonly ConcurrentDictionary<string, int> _open = new();

    public ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        var key = Key(connection.RemoteEndPoint);
        if (_open.AddOrUpdate(key, 1, (_, count) => count + 1) > limit)
        {
            Release(key);
            connection.Abort(new ConnectionAbortedException("too many connections from this address"));
            return;
        }
        try
        {
            await next(connection);
        }
        finally
        {
            Release(key);
        }
    };

    private void Release(string key)
    {
        // Remove the entry when it reaches zero, so addresses that left take no memory.
        while (true)
        {
            var count = _open.GetValueOrDefault(key);
            if (count <= 1)
            {
                if (_open.TryRemove(new KeyValuePair<string, int>(key, count)) || count == 0)
                    return;
            }
            else if (_open.TryUpdate(key, count - 1, count))
            {
                return;
            }
        }
    }

    private static string Key(EndPoint? endpoint) => ClientAddress.PartitionKey((endpoint as IPEndPoint)?.Address);
}
