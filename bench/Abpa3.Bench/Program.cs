using Abpa3.Bench;

return args switch
{
    ["cold-start", ..] => await ColdStartBenchmark.RunAsync(Runs(args)),
    _ => Usage(),
};

static int Runs(string[] args) =>
    args.SkipWhile(a => a != "--runs").Skip(1).FirstOrDefault() is { } text && int.TryParse(text, out var runs) && runs > 0 ? runs : 7;

static int Usage()
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Abpa3.Bench -- cold-start [--runs N]");
    return 2;
}
