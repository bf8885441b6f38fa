using System.Text.Json.Nodes;

namespace Abpa3.Host.Demo;

/// <summary>
/// The owner's journey through the real HTTP API: claim the manager with its setup code, sign in, pair each
/// sensor with the setup code from its console, and wait for the sensors to come online. What an earlier
/// run already did (the owner, a pairing) is recognised and left alone.
/// </summary>
public sealed class DemoSetup(DemoNode manager, IReadOnlyList<DemoNode> sensors, string username, string password,
    string startAfresh, TextWriter progress)
{
    /// <summary>The manager's list of devices, and the sensors it does not (yet) see online.</summary>
    public sealed record Peers(IReadOnlyList<JsonObject> Devices, IReadOnlyList<DemoNode> Offline);

    /// <summary>Claims the manager if it has no owner yet, and signs in; returns the access token.</summary>
    public async Task<string> ClaimAndSignInAsync(CancellationToken cancellationToken)
    {
        var info = await manager.GetAsync("/api/devices/info", null, "reading the manager's state", cancellationToken);
        if (State(info) == "unconfigured")
        {
            try
            {
                await manager.PostAsync("/api/auth/setup",
                    new { username, password, setup_code = manager.Node.Identity.SetupCode.Reveal() }, null, "claiming the manager", cancellationToken);
            }
            catch (DemoException e) when (e.Status == 409)
            {
                // Claimed meanwhile: by an earlier attempt of ours whose answer came too late, or the login below says otherwise.
            }
            await progress.WriteLineAsync($"  claimed the manager for \"{username}\" with its setup code");
        }
        try
        {
            var login = await manager.PostAsync("/api/auth/login", new { username, password }, null, "signing in to the manager", cancellationToken);
            return login["access_token"]!.GetValue<string>();
        }
        catch (DemoException e) when (e.Status == 401)
        {
            throw new DemoException($"the manager's owner does not accept the password in {DemoFiles.PasswordFile}; {startAfresh}");
        }
    }

    /// <summary>
    /// Pairs every sensor that is not yet this manager's; a sensor that belongs elsewhere is an error. A sensor
    /// that is ours is paired again only when <paramref name="pairAgainBecause"/> gives a reason: pairing tells
    /// each side where the other's link listens now.
    /// </summary>
    public async Task PairSensorsAsync(string token, Func<DemoNode, string?> pairAgainBecause, CancellationToken cancellationToken)
    {
        var known = await ListAsync(token, cancellationToken);
        foreach (var sensor in sensors)
        {
            var info = await sensor.GetAsync("/api/devices/info", null, $"reading {sensor.Key}'s state", cancellationToken);
            var (state, managerId) = (State(info), info["manager_device_id"]?.GetValue<string>());
            var entry = known.FirstOrDefault(d => Text(d, "device_id") == sensor.DeviceId);
            var ours = managerId == manager.DeviceId;
            if (ours && state is "paired" or "standalone" && entry is not null && Text(entry, "kind") == "peer" && entry["revoked"]?.GetValue<bool>() == false)
            {
                if (pairAgainBecause(sensor) is not { } reason)
                {
                    await progress.WriteLineAsync($"  {sensor.Key} is already paired with the manager (since {Text(entry, "paired_at")}), not pairing again");
                    continue;
                }
                await progress.WriteLineAsync($"  {sensor.Key} is paired, but {reason}: pairing it again");
            }
            if (!ours && state != "unconfigured")
                throw new DemoException($"{sensor.Key} is {state}" + (managerId is null ? "" : $" with another manager ({managerId})")
                    + $", so this demo's owner cannot pair it; {startAfresh}");

            var paired = await manager.PostAsync("/api/devices/pair/initiate",
                new { target_ip = sensor.PairingAddress, setup_code = sensor.Node.Identity.SetupCode.Reveal() }, token,
                $"pairing {sensor.Key}", cancellationToken);
            var status = Text(paired, "status");
            await progress.WriteLineAsync(status == "paired"
                ? $"  paired {sensor.Key} with the manager (J-PAKE over {sensor.Key}'s setup code; {sensor.Key} took the manager's owner account)"
                : $"  pairing {sensor.Key}: {status} ({Text(paired, "detail")})");
        }
    }

    /// <summary>Polls the manager's device list until every sensor is online there.</summary>
    public async Task<Peers> WaitUntilOnlineAsync(string token, TimeSpan patience, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            var devices = await ListAsync(token, cancellationToken);
            var offline = sensors.Where(s => !devices.Any(d => Text(d, "device_id") == s.DeviceId && d["online"]?.GetValue<bool>() == true)).ToList();
            if (offline.Count == 0 || DateTime.UtcNow >= deadline)
                return new Peers(devices, offline);
            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    private async Task<IReadOnlyList<JsonObject>> ListAsync(string token, CancellationToken cancellationToken)
    {
        var list = await manager.GetAsync("/api/devices", token, "listing the manager's devices", cancellationToken);
        return list["devices"]?.AsArray().OfType<JsonObject>().ToList() ?? [];
    }

    private static string State(JsonObject info) => Text(info, "state");

    private static string Text(JsonObject json, string field) => json[field]?.ToString() ?? "";
}
