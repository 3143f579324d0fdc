using System.Diagnostics;
using System.Globalization;
using Overlay.TestKit;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// One running overlayd; per trial a new lease is put in etcd (one gRPC put from the benchmark process) and the time
/// until its route appears in the node's namespace (rtnetlink event) is taken; then the lease is deleted and the
/// route's removal awaited before the next trial. Optionally with N other leases programmed the whole time.
/// </summary>
internal static class ConvergenceBenchmark
{
    private static readonly TimeSpan TrialTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> Run(string[] args)
    {
        int trials = Option(args, "--trials", 100);
        int background = Option(args, "--background", 0);
        if (!RequireRoot("convergence"))
        {
            return 1;
        }

        foreach (string overlayd in OverlaydPaths(args))
        {
            await using OverlayCluster cluster = await StartClusterAsync(overlayd);
            using NamespacedEtcd etcd = EtcdClient(cluster);
            long lease = await etcd.GrantAsync(TimeSpan.FromHours(24));
            if (background > 0)
            {
                await LoadLeasesAsync(etcd, background, lease);
            }

            ClusterNode node = cluster.AddNode();
            using var routes = new RouteTracker(node.Ns.Name, Pod);
            node.StartDaemon();
            if (WaitFor(Stopwatch.GetTimestamp(), () => ReadyLines(node.Daemon!).Count > 0 && routes.Count >= background, TimeSpan.FromSeconds(60)) is null)
            {
                throw new TimeoutException($"overlayd did not program {background} peers (has {routes.Count}):\n{node.DaemonOutput}");
            }

            System.Net.IPNetwork own = OwnSubnet(node);
            Thread.Sleep(1000); // let the start-up settle (first resync, JIT of the startup path)

            var table = new Table(string.Create(CultureInfo.InvariantCulture,
                $"convergence: {Path.GetFileName(overlayd)}, {trials} trials, {background} other peers programmed, {Machine()}"));
            int misses = 0;
            for (int trial = 0; trial < trials; trial++)
            {
                // Trial leases come from the top of the pod network (fake indices 16000..), away from the background ones.
                var (subnet, key, value) = FakeLease(16000 + trial % 384, family: 1);
                if (subnet == own)
                {
                    continue;
                }

                long put = Stopwatch.GetTimestamp();
                await etcd.PutAsync(key, value, lease);
                double ack = Stopwatch.GetElapsedTime(put).TotalMilliseconds;
                long? seen = null;
                WaitFor(put, () => (seen = routes.ChangedAt(subnet, present: true, put)) is not null, TrialTimeout);
                if (seen is not { } at)
                {
                    misses++;
                    Console.Error.WriteLine($"trial {trial}: no route for {subnet} within {TrialTimeout.TotalSeconds} s");
                }
                else
                {
                    table.Add("put sent → route present (netlink event)", Stopwatch.GetElapsedTime(put, at).TotalMilliseconds, "p99 ≤ 20 ms");
                    table.Add("put sent → put acknowledged by etcd", ack);
                    // etcd answers the put and notifies watchers after the same commit, so this is roughly overlayd's
                    // own share (watch event → lease set → reconcile → netlink); negative when the route came first.
                    table.Add("route present − put acknowledged (≈ overlayd's share)", Stopwatch.GetElapsedTime(put, at).TotalMilliseconds - ack);
                }

                long delete = Stopwatch.GetTimestamp();
                await etcd.DeleteAsync(key);
                seen = null;
                WaitFor(delete, () => (seen = routes.ChangedAt(subnet, present: false, delete)) is not null, TrialTimeout);
                if (seen is { } gone)
                {
                    table.Add("delete sent → route gone (netlink event)", Stopwatch.GetElapsedTime(delete, gone).TotalMilliseconds);
                }
                else
                {
                    misses++;
                    Console.Error.WriteLine($"trial {trial}: route for {subnet} still there {TrialTimeout.TotalSeconds} s after the delete");
                }
            }

            table.Print();
            Console.WriteLine();
            Console.WriteLine($"missed: {misses}; route monitor resyncs: {routes.Resyncs}; overlayd still running: {!node.Daemon!.HasExited}");
            if (args.Contains("--log"))
            {
                Console.Error.WriteLine(node.DaemonOutput);
            }
        }

        return 0;
    }
}
