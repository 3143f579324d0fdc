using Overlay.Benchmarks;
using Overlay.Benchmarks.Overlayd;

// Stopwatch benchmarks, one subcommand per area; each prints a markdown table for docs/benchmarks.md.
// Run as root, in Release: dotnet run -c Release --project test/Overlay.Benchmarks -- netlink [--peers 5000] [--rounds 3]
string command = args.Length > 0 ? args[0] : "help";
string[] rest = args.Length > 0 ? args[1..] : [];
return command switch
{
    "netlink" => NetlinkBenchmark.Run(rest),
    "convergence" => await ConvergenceBenchmark.Run(rest),
    "coldstart" => await ColdStartBenchmark.Run(rest),
    "memory" => await ColdStartBenchmark.Run(rest, memory: true),
    "steadymemory" => await SteadyMemoryBenchmark.Run(rest),
    "startup" => await StartupBenchmark.Run(rest),
    "desiredstate" => DesiredStateBenchmark.Run(rest),
    "services" => await ServicesBenchmark.Run(rest),
    "servicemodel" => ServiceModelBenchmark.Run(rest),
    "dns" => await DnsBenchmark.Run(rest),
    "manynodes" => await ManyNodesBenchmark.Run(rest),
    "fuzz" => FuzzBenchmark.Run(rest),
    "soak" => await SoakBenchmark.Run(rest),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("""
        usage: Overlay.Benchmarks netlink [--peers N] [--rounds R]
               Overlay.Benchmarks convergence [--trials 100] [--background N] [--log] [--overlayd PATH]...
               Overlay.Benchmarks coldstart [--peers 5000] [--trials 3] [--overlayd PATH]...
               Overlay.Benchmarks memory [--peers 5000] [--settle 20] [--overlayd PATH]...
               Overlay.Benchmarks steadymemory [--peers 5000] [--changes 100] [--settle 20] [--overlayd PATH]...
               Overlay.Benchmarks startup [--trials 5] [--overlayd PATH]...
               Overlay.Benchmarks desiredstate [--rounds 5]
               Overlay.Benchmarks servicemodel [--services 10000] [--endpoints 3] [--changes 100]
               Overlay.Benchmarks services [--services 10000] [--endpoints 3] [--peers 5000] [--trials 100] [--requests 2000] [--settle 20] [--skip-kubeproxy] [--shape-rounds 3] [--log] [--overlayd PATH]...
               Overlay.Benchmarks dns [--services 10000] [--seconds 10] [--clients 4] [--outstanding 100] [--latency-qps 2000,10000] [--settle 10] [--rounds 1] [--targets dnsmasq,overlayd] [--overlayd PATH]...
               Overlay.Benchmarks manynodes [--nodes 64] [--rounds 3] [--overlayd PATH]...
               Overlay.Benchmarks fuzz [--target lease|config|subnetenv|records|cni|netlink|all] [--seconds 300] [--seed 1]
               Overlay.Benchmarks soak [--minutes 10] [--seed 14] [--nodes 3] [--etcd-members 3] [--overlayd PATH]...
        --overlayd: overlayd.dll (run with dotnet) or a native overlayd; default: the overlayd.dll beside this program.
        --log: print overlayd's output after the convergence trials (its "reconciled" lines give the per-reconcile time).
        """);
    return 2;
}
