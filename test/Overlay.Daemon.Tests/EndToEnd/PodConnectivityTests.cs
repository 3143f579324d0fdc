using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

[NonParallelizable]
public class PodConnectivityTests
{
    private OverlayCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        Root.Require();
        _cluster = await Daemon.StartClusterAsync();
        foreach (ClusterNode node in _cluster.Nodes)
        {
            node.WaitForSubnetFile();
            node.AddPod();
        }
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [TearDown]
    public void AttachLogs() => _cluster?.AttachLogsIfFailed();

    [Test]
    public void Every_node_gets_a_distinct_subnet_of_the_network()
    {
        var subnets = _cluster.Nodes.Select(n => n.Subnet).ToList();

        Assert.That(subnets, Is.Unique);
        Assert.That(subnets, Has.All.Match(@"^198\.18\.\d+\.1/24$"));
        Assert.That(_cluster.LeasesInEtcd().Keys, Is.EquivalentTo(_cluster.Nodes.Select(n => n.LeaseKey)));
    }

    [Test]
    public void A_pod_reaches_the_pods_on_every_other_node()
    {
        foreach (ClusterNode from in _cluster.Nodes)
        {
            foreach (ClusterNode to in _cluster.Nodes.Where(n => n != from))
            {
                Assert.That(Poll.Until(() => from.Pod!.Ping(to.PodAddress)), Is.True, $"{from.Name} pod -> {to.Name} pod {to.PodAddress}");
            }
        }
    }
}
