using System.Globalization;
using Overlay.Cni.Tests.Fuzzing;
using Overlay.Core.Tests.Fuzzing;
using Overlay.Leases.Tests.Fuzzing;
using Overlay.Netlink.Tests.Fuzzing;
using Overlay.TestKit;

namespace Overlay.Benchmarks;

/// <summary>
/// The long mode of the fuzz tests: the same targets (test/*/Fuzzing) run for a time instead of a count, each with
/// the seed given (a different seed explores different inputs). Prints one markdown row per target and every
/// distinct finding with its input; exits 1 when anything was found.
/// usage: fuzz [--target lease|config|subnetenv|records|cni|netlink|all] [--seconds 300] [--seed 1]
/// </summary>
internal static class FuzzBenchmark
{
    public static int Run(string[] args)
    {
        string target = "all";
        int seconds = 300;
        int seed = 1;
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--target": target = args[i + 1]; break;
                case "--seconds": seconds = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--seed": seed = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                default:
                    Console.Error.WriteLine($"unknown option {args[i]}");
                    return 2;
            }
        }

        string folder = Directory.CreateTempSubdirectory("ovt-fuzz-bench-").FullName;
        try
        {
            var cni = new CniFuzzTarget(folder);
            var runs = new List<(string Group, Func<TimeSpan, FuzzReport> Run)>
            {
                ("lease", d => FuzzCampaign.RunFor(CoreFuzzTargets.SubnetKeys, seed, d)),
                ("lease", d => FuzzCampaign.RunFor(CoreFuzzTargets.LeaseValues, seed, d)),
                ("lease", d => FuzzCampaign.RunFor(LeaseEntryFuzzTarget.Entries, seed, d)),
                ("config", d => FuzzCampaign.RunFor(CoreFuzzTargets.NetworkConfigs, seed, d)),
                ("subnetenv", d => FuzzCampaign.RunFor(CoreFuzzTargets.SubnetEnvFiles, seed, d)),
                ("records", d => FuzzCampaign.RunFor(CoreFuzzTargets.PodRecords, seed, d)),
                ("records", d => FuzzCampaign.RunFor(CoreFuzzTargets.ServiceRecords, seed, d)),
                ("cni", d => FuzzCampaign.RunFor(cni.Target, seed, d)),
                ("cni", d => FuzzCampaign.RunFor(CniFuzzTarget.CniArgs, seed, d)),
                ("cni", d => FuzzCampaign.RunFor(CniFuzzTarget.DelegateResults, seed, d)),
                ("netlink", d => FuzzCampaign.RunFor(NetlinkFuzzTarget.Datagrams, seed, d)),
            };
            var chosen = runs.Where(r => target == "all" || r.Group == target).ToList();
            if (chosen.Count == 0)
            {
                Console.Error.WriteLine($"unknown target {target}: lease, config, subnetenv, records, cni, netlink or all");
                return 2;
            }

            Console.WriteLine($"fuzz --target {target} --seconds {seconds} --seed {seed} ({Environment.ProcessorCount} CPUs; each target runs {seconds} s)");
            Console.WriteLine();
            Console.WriteLine("| target | inputs | inputs/s | accepted | rejected | findings |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|");
            var reports = new List<FuzzReport>();
            foreach ((string _, Func<TimeSpan, FuzzReport> run) in chosen)
            {
                FuzzReport report = run(TimeSpan.FromSeconds(seconds));
                reports.Add(report);
                Console.WriteLine($"| {report.Target} | {report.Iterations} | {report.PerSecond:F0} | {report.Accepted} | {report.Rejected} | {report.FindingCount} |");
            }

            foreach (FuzzReport report in reports.Where(r => r.FindingCount > 0))
            {
                Console.WriteLine();
                Console.WriteLine(report);
            }

            return reports.Any(r => r.FindingCount > 0) ? 1 : 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
