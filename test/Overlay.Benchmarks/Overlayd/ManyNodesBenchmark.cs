using System.Diagnostics;
using System.Globalization;
using Overlay.TestKit;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// A whole cluster starting at once (a power cut): N node namespaces against one etcd, every overlayd started at one
/// moment. Per round: time from the common start to the last "ready:" line, and to the last node whose log says it
/// programmed all N − 1 peers (checked afterwards against every kernel with ip -j and bridge -j), memory (RSS), lost
/// create races, error lines and exits.
/// </summary>
internal static class ManyNodesBenchmark
{
    private const string NetworkConfig = "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}";

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    public static async Task<int> Run(string[] args)
    {
        int nodes = Option(args, "--nodes", 64);
        int rounds = Option(args, "--rounds", 3);
        if (!RequireRoot("manynodes"))
        {
            return 1;
        }

        if (nodes is < 2 or > 230)
        {
            Console.Error.WriteLine("--nodes: 2..230 (node underlay addresses are 192.0.2.11 and up)");
            return 2;
        }

        int failures = 0;
        foreach (string overlayd in OverlaydPaths(args))
        {
            var table = new Table(string.Create(CultureInfo.InvariantCulture,
                $"manynodes: {Path.GetFileName(overlayd)}, {nodes} nodes started at once, {rounds} rounds, {Machine()}"));
            var problems = new List<string>();
            for (int round = 1; round <= rounds; round++)
            {
                string? problem = await RoundAsync(overlayd, nodes, table);
                Console.Error.WriteLine($"round {round}/{rounds}: {problem ?? "ok"}");
                if (problem is not null)
                {
                    problems.Add($"round {round}: {problem}");
                }
            }

            table.Print();
            Console.WriteLine();
            Console.WriteLine(problems.Count == 0 ? "every round: distinct subnets, every kernel holds every peer, 0 error lines, 0 exits" : string.Join("\n", problems));
            failures += problems.Count;
        }

        return failures == 0 ? 0 : 1;
    }

    private static async Task<string?> RoundAsync(string overlayd, int count, Table table)
    {
        await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = overlayd,
            Nodes = count,
            NetworkConfig = NetworkConfig,
            StartDaemons = false,
        });
        List<ClusterNode> nodes = cluster.Nodes;
        Console.Error.WriteLine($"{count} node namespaces made; starting every overlayd at once");

        long clock = Stopwatch.GetTimestamp();
        DateTime started = cluster.StartDaemonsTogether();
        table.Add("start of the first to start of the last overlayd (ms)", Stopwatch.GetElapsedTime(clock).TotalMilliseconds);
        if (WaitFor(clock, () => nodes.All(n => ManyNodes.IsReady(n) || n.Daemon!.HasExited), Timeout) is null)
        {
            return $"not ready after {Timeout}: {string.Join(", ", nodes.Where(n => !ManyNodes.IsReady(n)).Select(n => n.Name))}";
        }

        // overlayd's own word, to the millisecond: its "ready:" line, and the first line saying all peers are programmed.
        string allPeers = string.Create(CultureInfo.InvariantCulture, $" {count - 1} peers");
        TimeSpan? lastReady = Latest(nodes, n => ManyNodes.LoggedAt(n, " ready: ", started), started);
        TimeSpan? lastProgrammed = Latest(nodes, n => FirstAllPeersLine(n, allPeers, started), started);

        // The kernels, read independently: each must hold exactly the other leases' entries.
        IReadOnlyDictionary<string, string> leases = cluster.LeasesInEtcd();
        IReadOnlyList<PeerLease> peers = KernelAgreement.Leases(cluster);
        IReadOnlyList<string> differences = ["not read yet"];
        bool programmed = Poll.Until(() => (differences = KernelAgreement.Differences(peers, nodes)).Count == 0, TimeSpan.FromSeconds(60));
        TimeSpan kernelsChecked = Stopwatch.GetElapsedTime(clock);

        double[] rss = [.. nodes.Where(n => !n.Daemon!.HasExited).Select(n => Memory(n.Daemon!.Id).Rss)];
        int races = nodes.Sum(n => n.DaemonOutput.Split('\n').Count(l => l.Contains("looking again", StringComparison.Ordinal)));
        IReadOnlyList<string> errors = ManyNodes.ErrorLines(nodes);
        int exits = nodes.Count(n => n.Daemon!.HasExited);
        int distinct = nodes.Where(ManyNodes.IsReady).Select(n => n.LeaseSubnet).Distinct().Count();

        if (lastReady is { } r)
        {
            table.Add("common start → last node ready (s)", r.TotalSeconds);
        }

        if (lastProgrammed is { } p)
        {
            table.Add($"common start → last node logs all {count - 1} peers programmed (s)", p.TotalSeconds);
        }

        table.Add("common start → every kernel checked with ip/bridge (s, an upper bound)", kernelsChecked.TotalSeconds);
        table.Add("RSS, sum over all overlayd (MiB)", rss.Sum());
        table.Add("RSS per overlayd (MiB, mean)", rss.Length == 0 ? 0 : rss.Average());
        table.Add("RSS per overlayd (MiB, max)", rss.Length == 0 ? 0 : rss.Max());
        table.Add("lost create races, retried", races);
        table.Add("error lines", errors.Count);
        table.Add("overlayd exits", exits);

        var wrong = new List<string>();
        if (distinct != count || leases.Count != count)
        {
            wrong.Add($"{distinct} distinct subnets and {leases.Count} leases for {count} nodes");
        }

        if (!programmed)
        {
            wrong.Add("kernels not programmed: " + string.Join("; ", differences.Take(5)));
        }

        if (errors.Count > 0 || exits > 0)
        {
            wrong.Add($"{errors.Count} error lines, {exits} exits: {string.Join("\n", errors.Take(10))}");
        }

        if (lastReady is null || lastProgrammed is null)
        {
            wrong.Add("a node's log lacks its ready line or a line with all peers programmed");
        }

        return wrong.Count == 0 ? null : string.Join("; ", wrong);
    }

    /// <summary>When the node first said it had all peers: its "ready: N peers programmed" or a "reconciled (...): ..., N peers, 0 failed" line.</summary>
    private static DateTime? FirstAllPeersLine(ClusterNode node, string allPeers, DateTime near)
    {
        DateTime? ready = ManyNodes.LoggedAt(node, " ready:" + allPeers + " programmed", near);
        DateTime? reconciled = ManyNodes.LoggedAt(node, allPeers + ", 0 failed", near);
        return ready is null ? reconciled : reconciled is null ? ready : ready < reconciled ? ready : reconciled;
    }

    private static TimeSpan? Latest(List<ClusterNode> nodes, Func<ClusterNode, DateTime?> at, DateTime started)
    {
        DateTime?[] times = [.. nodes.Select(at)];
        return times.Any(t => t is null) ? null : times.Max()!.Value - started;
    }
}
