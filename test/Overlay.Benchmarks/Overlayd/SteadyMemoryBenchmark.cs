using System.Diagnostics;
using System.Globalization;
using Overlay.TestKit;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// Memory in the steady state after plain lease changes, which take the fast path and never a full pass: N leases
/// in etcd, one overlayd programs them and settles; then C lease changes (a lease put and its route awaited is one, its deletion and
/// the route's removal another), then VmRSS is read S seconds after the last change. The goal is that of the start-up:
/// at most 30 MB for the NativeAOT build, whatever the last change was.
/// </summary>
internal static class SteadyMemoryBenchmark
{
    private static readonly TimeSpan ChangeTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> Run(string[] args)
    {
        int peers = Option(args, "--peers", 5000);
        int changes = Option(args, "--changes", 100);
        int settle = Option(args, "--settle", 20);
        if (!RequireRoot("steadymemory"))
        {
            return 1;
        }

        foreach (string overlayd in OverlaydPaths(args))
        {
            var table = new Table(string.Create(CultureInfo.InvariantCulture,
                $"steadymemory: {Path.GetFileName(overlayd)}, {peers} leases in etcd, {changes} lease changes, {Machine()}"));
            await using OverlayCluster cluster = await StartClusterAsync(overlayd);
            using NamespacedEtcd etcd = EtcdClient(cluster);
            long lease = await etcd.GrantAsync(TimeSpan.FromHours(24));
            await LoadLeasesAsync(etcd, peers, lease);

            ClusterNode node = cluster.AddNode();
            using var routes = new RouteTracker(node.Ns.Name, Pod);
            Process daemon = node.StartDaemon();
            if (WaitFor(Stopwatch.GetTimestamp(), () => ReadyLines(daemon).Count > 0 && routes.Count >= peers, TimeSpan.FromSeconds(120)) is null)
            {
                throw new TimeoutException($"overlayd did not program {peers} peers (has {routes.Count}):\n{node.DaemonOutput}");
            }

            Thread.Sleep(TimeSpan.FromSeconds(settle));
            (double startRss, _) = Memory(daemon.Id);
            table.Add($"VmRSS {settle} s after ready (MiB)", startRss, "AOT ≤ 30 MB");

            System.Net.IPNetwork own = OwnSubnet(node);
            int done = 0;
            for (int i = 0; done < changes; i++)
            {
                var (subnet, key, value) = FakeLease(16000 + i % 384, family: 1);
                if (subnet == own)
                {
                    continue;
                }

                long put = Stopwatch.GetTimestamp();
                await etcd.PutAsync(key, value, lease);
                WaitFor(put, () => routes.ChangedAt(subnet, present: true, put) is not null, ChangeTimeout);
                long delete = Stopwatch.GetTimestamp();
                await etcd.DeleteAsync(key);
                WaitFor(delete, () => routes.ChangedAt(subnet, present: false, delete) is not null, ChangeTimeout);
                done += 2;
            }

            (double busyRss, _) = Memory(daemon.Id);
            table.Add($"VmRSS right after {done} lease changes (MiB)", busyRss);
            Thread.Sleep(TimeSpan.FromSeconds(settle));
            (double rss, double hwm) = Memory(daemon.Id);
            table.Add($"VmRSS {settle} s after the last of {done} lease changes (MiB)", rss, "AOT ≤ 30 MB");
            table.Add("VmHWM (peak RSS) (MiB)", hwm);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pid {daemon.Id}: VmRSS {rss:F1} MiB after {done} changes; still running: {!daemon.HasExited}"));
            if (args.Contains("--log"))
            {
                Console.Error.WriteLine(node.DaemonOutput);
            }

            table.Print();
        }

        return 0;
    }
}
