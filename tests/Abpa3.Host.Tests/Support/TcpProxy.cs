using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Abpa3.Host.Tests.Support;

/// <summary>
/// A TCP forwarder on loopback standing in for the network between devices: it listens on one port and carries each
/// connection to another. <see cref="Cut"/> drops the connections it carries and refuses new ones (with a reset, so both
/// ends notice at once rather than after TCP's timeouts), for every client or only those a filter picks;
/// <see cref="Restore"/> lets them through again.
/// Bytes pass untouched, so TLS between the two ends works as without it.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private sealed record Link(IPEndPoint Client, Socket Inbound, Socket Outbound);

    private readonly TcpListener _listener;
    private int _targetPort;
    private readonly Action<string> _log;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly HashSet<Link> _links = [];
    private Func<IPEndPoint, bool>? _cut;
    private Task _accepting = Task.CompletedTask;

    /// <summary>Listens on a free loopback port at once (so its <see cref="Port"/> can be handed out); carries nothing until <see cref="Start"/>.</summary>
    public TcpProxy(string label, Action<string> log)
    {
        Label = label;
        _log = log;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
    }

    public string Label { get; }
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    /// <summary>Connections carried so far, and those refused or dropped by a cut.</summary>
    public int Accepted { get; private set; }
    public int Refused { get; private set; }
    public int Dropped { get; private set; }

    /// <summary>Carries every connection to 127.0.0.1:<paramref name="targetPort"/> from now on.</summary>
    public void Start(int targetPort)
    {
        _targetPort = targetPort;
        _accepting = AcceptAsync();
    }

    /// <summary>
    /// Drops the carried connections whose client <paramref name="which"/> picks (null: all) and refuses such clients
    /// from now on, until <see cref="Restore"/>. Returns how many connections were dropped.
    /// </summary>
    public int Cut(Func<IPEndPoint, bool>? which = null)
    {
        var clock = Stopwatch.StartNew();
        List<Link> dropping;
        lock (_gate)
        {
            _cut = which ?? (_ => true);
            dropping = _links.Where(l => _cut(l.Client)).ToList();
            Dropped += dropping.Count;
        }
        foreach (var link in dropping)
            Drop(link);
        _log($"{Label}: cut ({dropping.Count} connection(s) dropped in {clock.Elapsed.TotalMilliseconds:0} ms)");
        return dropping.Count;
    }

    /// <summary>New connections are carried again.</summary>
    public void Restore()
    {
        lock (_gate)
            _cut = null;
        _log($"{Label}: restored");
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket inbound;
            try
            {
                inbound = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _ = CarryAsync(inbound);
        }
    }

    private async Task CarryAsync(Socket inbound)
    {
        var client = (IPEndPoint)inbound.RemoteEndPoint!;
        if (IsCut(client))
        {
            Reset(inbound);
            return;
        }
        var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        inbound.NoDelay = true;
        try
        {
            await outbound.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _targetPort), _stop.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            // Nothing listens there now (the node is down): the client sees the same as without the proxy.
            Reset(inbound);
            outbound.Dispose();
            return;
        }
        var link = new Link(client, inbound, outbound);
        bool carried;
        lock (_gate)
        {
            // A cut may have come while connecting.
            carried = !IsCut(client);
            if (carried)
            {
                _links.Add(link);
                Accepted++;
            }
        }
        if (!carried)
        {
            Drop(link);
            return;
        }
        try
        {
            await Task.WhenAny(PumpAsync(inbound, outbound), PumpAsync(outbound, inbound));
        }
        finally
        {
            lock (_gate)
                _links.Remove(link);
            Drop(link);
        }
    }

    /// <summary>Whether a new connection from <paramref name="client"/> is refused now (and counts it if so).</summary>
    private bool IsCut(IPEndPoint client)
    {
        lock (_gate)
        {
            if (_cut is null || !_cut(client))
                return false;
            Refused++;
            return true;
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                    return;
                for (var sent = 0; sent < read;)
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, _stop.Token);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // one side went away, or the link was dropped
        }
    }

    private static void Drop(Link link)
    {
        Reset(link.Inbound);
        Reset(link.Outbound);
    }

    /// <summary>Closes with a reset (linger 0), so the peer learns at once that the connection is gone.</summary>
    private static void Reset(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // already closed
        }
        socket.Dispose();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        List<Link> open;
        lock (_gate)
            open = [.. _links];
        foreach (var link in open)
            Drop(link);
        _stop.Dispose();
    }
}
