using Abpa3.Web.Tests.Support;

namespace Abpa3.Web.Tests.Endpoints;

/// <summary>T9: passwords, access and pairing tokens, device keys and the setup code appear in no log line and no journal byte.</summary>
public class SecretsSpecs
{
    [Fact]
    public async Task No_secret_of_a_full_session_is_logged_or_stored_in_clear()
    {
        string password = "p4ssword-" + Guid.NewGuid().ToString("N");
        string token, setupCode, dataDir, pairToken, deviceKey;
        CapturedLogs logs;
        await using (var node = await TestNode.StartAsync(dataDir: null, plainHttp: false))
        {
            dataDir = node.DataDir;
            setupCode = node.SetupCode;
            logs = node.Logs;
            await node.PostJsonAsync("/api/auth/setup", new { username = "owner", password, setup_code = "00000001" });
            await node.SetupOwnerAsync("owner", password);
            await node.PostJsonAsync("/api/auth/login", new { username = "owner", password = "wrong-" + password });
            token = await node.LoginAsync("owner", password);
            await node.GetAsync("/api/auth/me", token + "x");
            await node.GetAsync("/api/auth/me", token);
            var qr = await TestNode.ReadJsonAsync(await node.PostJsonAsync("/api/pairing/qr", new { }, token));
            pairToken = qr["payload"]!["pairToken"]!.GetValue<string>();
            var phone = await Abpa3.Client.Pairing.PairAsync(Abpa3.Client.QrPayload.Parse(qr["payload"]!.ToJsonString()), "Phone", "mobile");
            deviceKey = phone.DeviceKey;
            await using (var socket = await RawSocket.ConnectAsync(node, deviceKey))
                await socket.ReceiveTypeAsync("welcome");
            var wrongKey = deviceKey[..10] + (deviceKey[10] == 'A' ? 'B' : 'A') + deviceKey[11..];
            await using (var wrong = await RawSocket.ConnectAsync(node, wrongKey))
                Assert.Equal(4401, await wrong.ExpectCloseAsync());
            var journal = await ReadJournalAsync(dataDir);

            Assert.DoesNotContain(password, journal);
            Assert.DoesNotContain(setupCode, journal);
            Assert.DoesNotContain(pairToken, journal);
            Assert.DoesNotContain(deviceKey, journal);
            Assert.DoesNotContain(deviceKey["dev_".Length..], journal);
            Assert.Contains("owner", journal); // the journal was read: the account is there, as a hash
        }

        Assert.NotEmpty(logs.Lines);
        foreach (var line in logs.Lines)
        {
            Assert.DoesNotContain(password, line);
            Assert.DoesNotContain(token, line);
            Assert.DoesNotContain(token.Split('.')[2], line);
            Assert.DoesNotContain(setupCode, line);
            Assert.DoesNotContain(pairToken, line);
            Assert.DoesNotContain(deviceKey, line);
        }
    }

    private static async Task<string> ReadJournalAsync(string dataDir)
    {
        var text = new System.Text.StringBuilder();
        foreach (var file in Directory.EnumerateFiles(dataDir, "mesh*.db*"))
        {
            await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream, System.Text.Encoding.Latin1);
            text.Append(await reader.ReadToEndAsync());
        }
        return text.ToString();
    }
}
