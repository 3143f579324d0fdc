using System.Diagnostics;
using System.Globalization;
using Overlay.TestKit;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// N leases already in etcd (default 5,000). Per trial a fresh node namespace: overlayd is started and the time from
/// starting the process to subnet.env, to all N peer routes present, and to the "ready:" log line is taken. Then
/// overlayd is killed (SIGKILL, kernel state left in place) and started again: the time to its "ready:" line.
/// The same routine, with a pause and a look at /proc/PID/status, is the memory benchmark.
/// </summary>
internal static class ColdStartBenchmark
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    public static Task<int> Run(string[] args) => Run(args, memory: false);

    public static async Task<int> Run(string[] args, bool memory)
    {
        int peers = Option(args, "--peers", 5000);
        int trials = Option(args, "--trials", memory ? 1 : 3);
        int settle = Option(args, "--settle", 20);
        if (!RequireRoot(memory ? "memory" : "coldstart"))
        {
            return 1;
        }

        foreach (string overlayd in OverlaydPaths(args))
        {
            var table = new Table(string.Create(CultureInfo.InvariantCulture,
                $"{(memory ? "memory" : "coldstart")}: {Path.GetFileName(overlayd)}, {peers} leases in etcd, {trials} trials, {Machine()}"));
            await using OverlayCluster cluster = await StartClusterAsync(overlayd);
            using NamespacedEtcd etcd = EtcdClient(cluster);
            long lease = await etcd.GrantAsync(TimeSpan.FromHours(24));
            await LoadLeasesAsync(etcd, peers, lease);

            for (int trial = 1; trial <= trials; trial++)
            {
                ClusterNode node = cluster.AddNode();
                using (var routes = new RouteTracker(node.Ns.Name, Pod))
                {
                    // Cold: a fresh namespace, no flannel.1, no subnet.env.
                    long started = Stopwatch.GetTimestamp();
                    Process daemon = node.StartDaemon();
                    double? subnetFile = null, allRoutes = null, readyLine = null;
                    while (Stopwatch.GetElapsedTime(started) < StartTimeout && (subnetFile is null || allRoutes is null || readyLine is null) && !daemon.HasExited)
                    {
                        double now = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                        subnetFile ??= File.Exists(node.SubnetFile) ? now : null;
                        allRoutes ??= routes.Count >= peers ? now : null;
                        readyLine ??= ReadyLines(daemon).Count > 0 ? now : null;
                        Thread.Sleep(1);
                    }

                    if (subnetFile is null || allRoutes is null || readyLine is null)
                    {
                        throw new TimeoutException($"cold start {trial}: subnet.env {subnetFile}, {routes.Count}/{peers} routes, ready {readyLine}:\n{node.DaemonOutput}");
                    }

                    var ready = ReadyLines(daemon);
                    table.Add("cold: start → subnet.env written", subnetFile.Value, "< 2000 ms");
                    table.Add($"cold: start → {peers} peer routes on the node", allRoutes.Value, "< 2000 ms");
                    table.Add("cold: start → \"ready:\" line seen", readyLine.Value);
                    table.Add("cold: overlayd's own \"ready: … in M ms\" (M)", ready.Milliseconds!.Value);
                    Console.Error.WriteLine($"cold start {trial}: ready line says {ready.Peers} peers; monitor resyncs {routes.Resyncs}");

                    if (memory)
                    {
                        Thread.Sleep(TimeSpan.FromSeconds(settle));
                        (double rss, double hwm) = Memory(daemon.Id);
                        table.Add($"VmRSS after {settle} s with {peers} peers (MiB)", rss, "AOT ≤ 30 MB");
                        table.Add("VmHWM (peak RSS) (MiB)", hwm);
                        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pid {daemon.Id}: VmRSS {rss:F1} MiB, VmHWM {hwm:F1} MiB"));
                    }

                    if (args.Contains("--log"))
                    {
                        Console.Error.WriteLine(node.DaemonOutput);
                    }

                    // Restart: SIGKILL, the device and its 3×N entries stay; subnet.env stays too (the daemon leaves it
                    // as it is when unchanged), so the restart is timed to the "ready:" line.
                    node.KillDaemon();
                    started = Stopwatch.GetTimestamp();
                    daemon = node.StartDaemon();
                    TimeSpan? restarted = WaitFor(started, () => ReadyLines(daemon).Count > 0 || daemon.HasExited, StartTimeout);
                    if (restarted is null || daemon.HasExited)
                    {
                        throw new TimeoutException($"restart {trial}: no ready line:\n{node.DaemonOutput}");
                    }

                    ready = ReadyLines(daemon);
                    table.Add("restart (SIGKILL, kernel state kept): start → \"ready:\" line seen", restarted.Value.TotalMilliseconds, "< 2000 ms");
                    table.Add("restart: overlayd's own \"ready: … in M ms\" (M)", ready.Milliseconds!.Value);
                    if (routes.Count != peers)
                    {
                        Console.Error.WriteLine($"restart {trial}: {routes.Count} peer routes after the restart, expected {peers}");
                    }

                    if (memory)
                    {
                        Thread.Sleep(TimeSpan.FromSeconds(settle));
                        (double rss, double hwm) = Memory(daemon.Id);
                        table.Add($"restart: VmRSS after {settle} s (MiB)", rss, "AOT ≤ 30 MB");
                        table.Add("restart: VmHWM (MiB)", hwm);
                    }
                }

                // The next trial's node should see the same N peers: take this node out of etcd.
                string key = node.LeaseKey;
                node.KillDaemon();
                await etcd.DeleteAsync(key);
                Console.Error.WriteLine($"trial {trial}/{trials} done");
            }

            table.Print();
        }

        return 0;
    }
}
