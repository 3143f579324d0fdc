using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>
/// A whole cluster starting at once, as after a power cut: every overlayd against one etcd at the same moment.
/// flanneld exits on a lost create race and on a full network; overlayd looks again, or waits for a subnet.
/// </summary>
[NonParallelizable]
public class ManyNodesTests
{
    private OverlayCluster? _cluster;

    [TearDown]
    public async Task StopCluster()
    {
        _cluster?.AttachLogsIfFailed();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
            _cluster = null;
        }
    }

    private static OverlayClusterOptions Options(string overlayd, int nodes, string config) => new()
    {
        Overlayd = overlayd,
        Nodes = nodes,
        NetworkConfig = config,
        DaemonArgs = Daemon.ClusterOptions().DaemonArgs,
        StartDaemons = false,
    };

    [Test]
    public async Task Sixty_four_nodes_started_at_once_get_distinct_subnets_and_each_programs_the_other_sixty_three()
    {
        // 64 processes: the native overlayd (about 20 MiB each), as the docs recommend for nodes.
        string overlayd = NativeAotTests.NativeBinary();
        Root.Require();
        _cluster = await OverlayCluster.StartAsync(Options(overlayd, 64, Daemon.ClusterOptions().NetworkConfig));
        List<ClusterNode> nodes = _cluster.Nodes;

        DateTime started = _cluster.StartDaemonsTogether();
        bool settled = Poll.Until(() => nodes.All(n => ManyNodes.IsReady(n) || n.Daemon!.HasExited), TimeSpan.FromSeconds(150));

        Assert.That(nodes.Where(n => n.Daemon!.HasExited).Select(n => n.Name), Is.Empty, "no overlayd exits");
        Assert.That(settled, Is.True, $"not ready after 150 s: {string.Join(", ", nodes.Where(n => !ManyNodes.IsReady(n)).Select(n => n.Name))}");
        List<string> subnets = nodes.Select(n => n.LeaseSubnet).ToList();
        Assert.That(subnets.Distinct().Count(), Is.EqualTo(64), string.Join(", ", subnets));
        IReadOnlyDictionary<string, string> leases = _cluster.LeasesInEtcd();
        Assert.That(leases.Keys.Select(k => k[(k.LastIndexOf('/') + 1)..].Replace('-', '/')), Is.EquivalentTo(subnets));

        // Every node's kernel holds the 63 others' route, neighbour and FDB entry, and nothing else.
        IReadOnlyList<PeerLease> peers = KernelAgreement.Leases(_cluster);
        IReadOnlyList<string> differences = ["not read yet"];
        bool programmed = Poll.Until(() => (differences = KernelAgreement.Differences(peers, nodes)).Count == 0, TimeSpan.FromSeconds(60));
        Assert.That(programmed, Is.True, string.Join("\n", differences.Take(40)));

        Assert.That(ManyNodes.ErrorLines(nodes), Is.Empty, "no error lines in any overlayd's log");
        Assert.That(nodes.Where(n => n.Daemon!.HasExited).Select(n => n.Name), Is.Empty, "no overlayd exits");
        DateTime lastReady = nodes.Max(n => ManyNodes.LoggedAt(n, " ready: ", started) ?? DateTime.MaxValue);
        int retries = nodes.Sum(n => n.DaemonOutput.Split('\n').Count(l => l.Contains("looking again", StringComparison.Ordinal)));
        await TestContext.Out.WriteLineAsync($"64 nodes: the last ready {(lastReady - started).TotalSeconds:0.0} s after the common start; {retries} lost create races retried");
    }

    [Test]
    public async Task Eight_nodes_on_a_network_of_four_subnets_four_lease_and_four_wait_without_exiting_until_one_is_released()
    {
        // 198.18.100.0/22 in /24s from its first subnet: exactly four.
        const string fourSubnets = """{"Network":"198.18.100.0/22","SubnetMin":"198.18.100.0","Backend":{"Type":"vxlan"}}""";
        Root.Require();
        string overlayd = Environment.GetEnvironmentVariable(NativeAotTests.BinaryVariable) is { Length: > 0 } native ? native : Daemon.Path;
        _cluster = await OverlayCluster.StartAsync(Options(overlayd, 8, fourSubnets));
        List<ClusterNode> nodes = _cluster.Nodes;
        const string waitingLine = "no subnet can be leased yet, retrying: out of subnets: every /24 from 198.18.100.0 to 198.18.103.0 in 198.18.100.0/22 is leased";

        _cluster.StartDaemonsTogether();
        bool settled = Poll.Until(() => nodes.Count(ManyNodes.IsReady) == 4 && nodes.Count(n => n.DaemonOutput.Contains(waitingLine, StringComparison.Ordinal)) == 4,
            TimeSpan.FromSeconds(120));
        Assert.That(settled, Is.True, $"four nodes ready and four waiting; ready: {string.Join(", ", nodes.Where(ManyNodes.IsReady).Select(n => n.Name))}");

        // Waiting goes on quietly: the reason once, no exit, no lease, no subnet.env.
        await Task.Delay(TimeSpan.FromSeconds(3));
        List<ClusterNode> waiting = nodes.Where(n => !ManyNodes.IsReady(n)).ToList();
        Assert.That(nodes.Where(n => n.Daemon!.HasExited).Select(n => n.Name), Is.Empty, "no overlayd exits");
        Assert.That(waiting, Has.Count.EqualTo(4));
        Assert.That(waiting.Select(n => n.ReadSubnetFile()), Is.All.Null);
        Assert.That(waiting.Select(n => n.DaemonOutput.Split('\n').Count(l => l.Contains(waitingLine, StringComparison.Ordinal))), Is.All.EqualTo(1), "the reason is logged once per node");
        Assert.That(_cluster.LeasesInEtcd(), Has.Count.EqualTo(4));

        // Two nodes leave for good (stopped, their leases released): two waiting nodes take their subnets.
        List<ClusterNode> leaving = nodes.Where(ManyNodes.IsReady).Take(2).ToList();
        var freed = leaving.Select(n => n.LeaseSubnet).ToList();
        foreach (ClusterNode node in leaving)
        {
            Assert.That(node.StopDaemon(), Is.Zero);
            _cluster.Etcd.Etcdctl("del", node.LeaseKey).EnsureSuccess();
        }

        bool tookOver = Poll.Until(() => waiting.Count(ManyNodes.IsReady) == 2, TimeSpan.FromSeconds(30));
        Assert.That(tookOver, Is.True, "two waiting nodes become ready once two subnets are released");
        Assert.That(waiting.Where(ManyNodes.IsReady).Select(n => n.LeaseSubnet), Is.EquivalentTo(freed));
        Assert.That(nodes.Except(leaving).Where(n => n.Daemon!.HasExited).Select(n => n.Name), Is.Empty, "no overlayd exits");
        Assert.That(_cluster.LeasesInEtcd(), Has.Count.EqualTo(4));
        Assert.That(ManyNodes.ErrorLines(nodes), Is.Empty, "waiting for a subnet is no error");
    }
}
