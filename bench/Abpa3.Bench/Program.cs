using Abpa3.Bench;

return args switch
{
    ["cold-start", ..] => await ColdStartBenchmark.RunAsync(Runs(args)),
    ["sync", ..] => await SyncBenchmark.RunAsync(Option(args, "--clients", 1000), Option(args, "--events", 200)),
    ["peer-throughput", ..] => await PeerThroughputBenchmark.RunAsync(Option(args, "--runs", 3), Option(args, "--window", 500),
        TimeSpan.FromSeconds(Option(args, "--seconds", 10)), args.Contains("--ladder")),
    ["pairing-latency", ..] => await PairingLatencyBenchmark.RunAsync(Option(args, "--pairings", 12)),
    ["peer-failover", ..] => await PeerFailoverBenchmark.RunAsync(Option(args, "--trials", 10)),
    ["scan-throughput", ..] => await ScanThroughputBenchmark.RunAsync(new ScanThroughputBenchmark.Options(
        Option(args, "--trials", 3), Option(args, "--max-sensors", 16), Option(args, "--width", 1024), Option(args, "--height", 1024),
        Option(args, "--segments", 64), Option(args, "--rate", 16), Option(args, "--fast-segments", 1024), args.Contains("--unthrottled-only"), Counts(args))),
    ["scan-failover", ..] => await ScanFailoverBenchmark.RunAsync(Option(args, "--trials", 10), Option(args, "--rate", 64)),
    ["bare-server", var port] => await BareBroadcastServer.RunAsync(int.Parse(port)),
    ["raw-echo", var parentCert, var parentAddress, var secret, var driverId, var echoId] =>
        await RawRemoting.RunEchoAsync(parentCert, parentAddress, new RawRemoting.SignedPair(Convert.FromHexString(secret), driverId, echoId)),
    _ => Usage(),
};

static int Option(string[] args, string name, int fallback) =>
    args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } text && int.TryParse(text, out var value) && value > 0 ? value : fallback;

static IReadOnlyList<int>? Counts(string[] args) =>
    args.SkipWhile(a => a != "--counts").Skip(1).FirstOrDefault() is { } text
        ? text.Split(',').Select(int.Parse).Where(n => n > 0).Distinct().Order().ToList()
        : null;

static int Runs(string[] args) =>
    args.SkipWhile(a => a != "--runs").Skip(1).FirstOrDefault() is { } text && int.TryParse(text, out var runs) && runs > 0 ? runs : 7;

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Abpa3.Bench -- cold-start [--runs N]");
    Console.Error.WriteLine("       dotnet run -c Release --project bench/Abpa3.Bench -- sync [--clients N] [--events N]");
    Console.Error.WriteLine("       dotnet run -c Release --project bench/Abpa3.Bench -- peer-throughput [--runs N] [--window N] [--seconds N] [--ladder]");
    Console.Error.WriteLine("       dotnet run -c Release --project bench/Abpa3.Bench -- pairing-latency [--pairings N]");
    Console.Error.WriteLine("       dotnet run -c Release --project bench/Abpa3.Bench -- peer-failover [--trials N]");
    Console.Error.WriteLine("       dotnet run -c Release --project bench/Abpa3.Bench -- scan-throughput [--trials N] [--max-sensors N] [--width N] [--height N] [--segments N] [--rate ROWS/S] [--fast-segments N] [--unthrottled-only] [--counts 1,2,4,8,16]");
    Console.Error.WriteLine("       dotnet run -c Release --project bench/Abpa3.Bench -- scan-failover [--trials N] [--rate ROWS/S]");
    return 2;
}
