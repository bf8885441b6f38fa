using Abpa3.Bench;

return args switch
{
    ["cold-start", ..] => await ColdStartBenchmark.RunAsync(Runs(args)),
    ["sync", ..] => await SyncBenchmark.RunAsync(Option(args, "--clients", 1000), Option(args, "--events", 200)),
    ["bare-server", var port] => await BareBroadcastServer.RunAsync(int.Parse(port)),
    _ => Usage(),
};

static int Option(string[] args, string name, int fallback) =>
    args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() is { } text && int.TryParse(text, out var value) && value > 0 ? value : fallback;

static int Runs(string[] args) =>
    args.SkipWhile(a => a != "--runs").Skip(1).FirstOrDefault() is { } text && int.TryParse(text, out var runs) && runs > 0 ? runs : 7;

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Abpa3.Bench -- cold-start [--runs N]");
    Console.Error.WriteLine("       dotnet run -c Release --project bench/Abpa3.Bench -- sync [--clients N] [--events N]");
    return 2;
}
