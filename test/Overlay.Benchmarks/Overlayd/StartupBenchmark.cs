using System.Diagnostics;
using System.Globalization;
using Overlay.TestKit;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// Start → subnet.env with nothing in etcd but the network config: per trial a fresh node (no device, no
/// subnet.env, no lease), then a restart after SIGKILL with the kernel state and subnet.env kept (timed to the
/// "ready:" line: an unchanged subnet.env is not rewritten), then a restart with subnet.env removed (timed to the file).
/// </summary>
internal static class StartupBenchmark
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    public static async Task<int> Run(string[] args)
    {
        int trials = Option(args, "--trials", 5);
        if (!RequireRoot("startup"))
        {
            return 1;
        }

        foreach (string overlayd in OverlaydPaths(args))
        {
            var table = new Table(string.Create(CultureInfo.InvariantCulture,
                $"startup: {Path.GetFileName(overlayd)}, empty etcd (config only), {trials} trials, {Machine()}"));
            await using OverlayCluster cluster = await StartClusterAsync(overlayd);
            using NamespacedEtcd etcd = EtcdClient(cluster);
            for (int trial = 1; trial <= trials; trial++)
            {
                ClusterNode node = cluster.AddNode();

                long started = Stopwatch.GetTimestamp();
                Process daemon = node.StartDaemon();
                TimeSpan file = WaitFor(started, () => File.Exists(node.SubnetFile) || daemon.HasExited, StartTimeout) is { } t && !daemon.HasExited
                    ? t
                    : throw new TimeoutException($"fresh start {trial}: no subnet.env:\n{node.DaemonOutput}");
                TimeSpan ready = WaitFor(started, () => ReadyLines(daemon).Count > 0, StartTimeout)
                    ?? throw new TimeoutException($"fresh start {trial}: no ready line:\n{node.DaemonOutput}");
                table.Add("fresh node: start → subnet.env written", file.TotalMilliseconds);
                table.Add("fresh node: start → \"ready:\" line seen", ready.TotalMilliseconds);

                node.KillDaemon();
                started = Stopwatch.GetTimestamp();
                daemon = node.StartDaemon();
                ready = WaitFor(started, () => ReadyLines(daemon).Count > 0, StartTimeout)
                    ?? throw new TimeoutException($"restart {trial}: no ready line:\n{node.DaemonOutput}");
                table.Add("restart, subnet.env kept: start → \"ready:\" line seen", ready.TotalMilliseconds);

                node.KillDaemon();
                File.Delete(node.SubnetFile);
                started = Stopwatch.GetTimestamp();
                daemon = node.StartDaemon();
                file = WaitFor(started, () => File.Exists(node.SubnetFile) || daemon.HasExited, StartTimeout) is { } r && !daemon.HasExited
                    ? r
                    : throw new TimeoutException($"restart {trial} without subnet.env: no subnet.env:\n{node.DaemonOutput}");
                table.Add("restart, subnet.env removed: start → subnet.env written", file.TotalMilliseconds);

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
