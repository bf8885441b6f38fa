using System.Net;
using System.Net.Sockets;
using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Endpoints;

/// <summary>T11: one address cannot hold every connection; another address is served meanwhile.</summary>
public class ConnectionLimitSpecs
{
    [Fact]
    public async Task Connections_beyond_the_limit_from_one_address_are_closed_and_other_addresses_still_get_in()
    {
        await using var node = await TestNode.StartAsync(new Dictionary<string, string> { ["abpa3.http.max-connections-per-address"] = "4" });
        var endpoint = new IPEndPoint(IPAddress.Loopback, node.Node.HttpUrl.Port);
        var held = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var client = new TcpClient();
                await client.ConnectAsync(endpoint);
                held.Add(client);
                // A request answered on it proves the node has accepted (and counted) this connection.
                await client.GetStream().WriteAsync("GET /api/devices/info HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
                Assert.True(await client.GetStream().ReadAsync(new byte[4096]) > 0);
            }
            using var extra = new TcpClient();
            await extra.ConnectAsync(endpoint);
            var stream = extra.GetStream();
            await stream.WriteAsync("GET /api/devices/info HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            var buffer = new byte[256];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, timeout.Token);
            }
            catch (IOException)
            {
                read = 0; // reset: closed just the same
            }
            Assert.Equal(0, read);

            // Another address on the LAN (here 127.0.0.2) is served while 127.0.0.1 holds its four.
            using var other = new TcpClient(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            await other.ConnectAsync(endpoint);
            var otherStream = other.GetStream();
            await otherStream.WriteAsync("GET /api/devices/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
            var response = await new StreamReader(otherStream).ReadToEndAsync();
            Assert.StartsWith("HTTP/1.1 200", response);
        }
        finally
        {
            foreach (var client in held)
                client.Dispose();
        }

        // Released connections make room again.
        await Task.Delay(200);
        Assert.Equal(HttpStatusCode.OK, (await node.GetAsync("/api/devices/info")).StatusCode);
    }
}
