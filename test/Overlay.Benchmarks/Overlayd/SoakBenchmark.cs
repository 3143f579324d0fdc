using System.Globalization;
using Overlay.TestKit;
using Overlay.TestKit.Chaos;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// The chaos soak for docs/benchmarks.md: <see cref="ChaosSoak"/> for --minutes on --nodes nodes (pods pinging each
/// other every 50 ms), printing each fault as it is repaired, then the per-fault table. Exit status 1 when echoes were
/// lost outside an underlay link's down time, a fault was not repaired, or the end check failed.
/// </summary>
internal static class SoakBenchmark
{
    public static async Task<int> Run(string[] args)
    {
        int minutes = Option(args, "--minutes", 10);
        int seed = Option(args, "--seed", 14);
        int nodes = Option(args, "--nodes", 3);
        int etcdMembers = Option(args, "--etcd-members", 3);
        if (!RequireRoot("soak"))
        {
            return 1;
        }

        int status = 0;
        foreach (string overlayd in OverlaydPaths(args))
        {
            string machineBefore = Machine();
            await using OverlayCluster cluster = await ChaosSoak.StartClusterAsync(overlayd, nodes, etcdMembers);
            ChaosSoakReport report = await ChaosSoak.RunAsync(cluster, new ChaosSoakOptions
            {
                Duration = TimeSpan.FromMinutes(minutes),
                Seed = seed,
                Progress = fault => Console.Error.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {fault}"),
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"### soak: {Path.GetFileName(overlayd)}, {nodes} nodes, etcd {(etcdMembers == 1 ? "single" : $"{etcdMembers} members")}, {minutes} min, seed {seed}; at the start {machineBefore}; at the end {Machine()}"));
            Console.WriteLine();
            Console.WriteLine(report.Table());
            IReadOnlyList<string> forbidden = report.ForbiddenLoss;
            Console.WriteLine(forbidden.Count == 0 ? "no echo lost outside an underlay link's down time" : "echoes lost outside an underlay link's down time:");
            forbidden.ToList().ForEach(line => Console.WriteLine("  " + line));
            Console.Error.WriteLine(report.FaultLog());
            if (forbidden.Count > 0 || report.EndDifferences.Count > 0 || report.Faults.Any(f => f.Repaired is null))
            {
                status = 1;
            }
        }

        return status;
    }
}
