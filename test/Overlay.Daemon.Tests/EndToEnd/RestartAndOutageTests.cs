using System.Diagnostics;
using System.Globalization;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>Restarts and etcd outages interrupt nothing: the kernel state stays, and the lease comes back.</summary>
[NonParallelizable]
public class RestartAndOutageTests
{
    private OverlayCluster _cluster = null!;

    [SetUp]
    public async Task StartCluster()
    {
        Root.Require();
        _cluster = await Daemon.StartClusterAsync(nodes: 2, args: ["--resync-interval", "5s"]);
        foreach (ClusterNode node in _cluster.Nodes)
        {
            node.WaitForSubnetFile();
            node.AddPod();
        }

        Assert.That(Poll.Until(() => _cluster.Nodes[0].Pod!.Ping(_cluster.Nodes[1].PodAddress)), Is.True, "the cluster did not converge");
    }

    [TearDown]
    public async Task StopCluster()
    {
        _cluster?.AttachLogsIfFailed();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Pings every 0.1 s from a to b's pod for the given time, and returns how many were lost.</summary>
    private static Task<(int Sent, int Lost, string Output)> PingDuring(ClusterNode a, ClusterNode b, TimeSpan duration)
    {
        int count = (int)(duration.TotalSeconds * 10);
        return Task.Run(() =>
        {
            CommandResult result = a.Pod!.Exec("ping", "-i", "0.1", "-W", "1", "-c", count.ToString(CultureInfo.InvariantCulture), b.PodAddress);
            var match = System.Text.RegularExpressions.Regex.Match(result.StdOut, @"(\d+) packets transmitted, (\d+) received");
            int sent = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            return (sent, sent - int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), result.StdOut);
        });
    }

    [Test]
    public async Task A_node_killed_with_SIGKILL_comes_back_with_the_same_subnet_and_no_ping_is_lost()
    {
        ClusterNode node = _cluster.Nodes[0];
        string subnet = node.Subnet;
        Task<(int Sent, int Lost, string Output)> pings = PingDuring(_cluster.Nodes[1], node, TimeSpan.FromSeconds(6));

        await Task.Delay(500);
        node.KillDaemon();
        node.StartDaemon();
        Assert.That(Poll.Until(() => node.DaemonOutput.Contains("ready:", StringComparison.Ordinal), TimeSpan.FromSeconds(20)), Is.True, "overlayd did not come back");

        (int sent, int lost, string output) = await pings;
        Assert.That(node.Subnet, Is.EqualTo(subnet));
        Assert.That(lost, Is.Zero, $"{lost} of {sent} pings lost:\n{output}");
    }

    [Test]
    public void SIGTERM_exits_0_and_leaves_the_kernel_state_in_place()
    {
        ClusterNode node = _cluster.Nodes[1];
        List<string> routes = Kernel.RoutesOnDevice(node.Ns);

        int exitCode = node.StopDaemon();

        Assert.That(exitCode, Is.Zero, node.DaemonOutput);
        Assert.That(Kernel.RoutesOnDevice(node.Ns), Is.EqualTo(routes));
        Assert.That(File.Exists(node.SubnetFile), Is.True);
        Assert.That(node.Pod!.Ping(_cluster.Nodes[0].PodAddress), Is.True, "traffic still flows with overlayd stopped");
    }

    [Test]
    public async Task Pod_traffic_continues_while_etcd_is_down_and_later_changes_are_applied()
    {
        ClusterNode a = _cluster.Nodes[0];
        ClusterNode b = _cluster.Nodes[1];
        Task<(int Sent, int Lost, string Output)> pings = PingDuring(a, b, TimeSpan.FromSeconds(20));

        await _cluster.Etcd.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(20));
        await _cluster.Etcd.StartAgainAsync();

        (int sent, int lost, string output) = await pings;
        Assert.That(lost, Is.Zero, $"{lost} of {sent} pings lost while etcd was down:\n{output}");
        Assert.That(Kernel.HttpGet(a, "/metrics"), Does.Match(@"overlay_etcd_errors_total [1-9]"), "the outage should show in the metrics");

        // A change made after etcd is back reaches the kernel.
        ClusterNode newcomer = _cluster.AddNode();
        newcomer.StartDaemon();
        newcomer.WaitForSubnetFile(TimeSpan.FromSeconds(40));
        var clock = Stopwatch.StartNew();
        Assert.That(Poll.Until(() => Kernel.RoutesToAll(a, _cluster.Nodes) && Kernel.RoutesToAll(b, _cluster.Nodes), TimeSpan.FromSeconds(30)), Is.True,
            $"the new node was not programmed after {clock.Elapsed}");
    }
}
