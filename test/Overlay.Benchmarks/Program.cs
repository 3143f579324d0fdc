using Overlay.Benchmarks;

// Stopwatch benchmarks, one subcommand per area; each prints a markdown table for docs/benchmarks.md.
// Run as root, in Release: dotnet run -c Release --project test/Overlay.Benchmarks -- netlink [--peers 5000] [--rounds 3]
string command = args.Length > 0 ? args[0] : "help";
string[] rest = args.Length > 0 ? args[1..] : [];
return command switch
{
    "netlink" => NetlinkBenchmark.Run(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Overlay.Benchmarks netlink [--peers N] [--rounds R]");
    return 2;
}
