using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>With Backend.DirectRouting, nodes on one L2 segment route pod traffic to each other without VXLAN.</summary>
[NonParallelizable]
public class DirectRoutingTests
{
    [Test]
    public async Task Nodes_on_the_same_link_route_pods_directly_via_each_others_address()
    {
        Root.Require();
        await using OverlayCluster cluster = await Daemon.StartClusterAsync(nodes: 2,
            config: "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"DirectRouting\":true}}");
        try
        {
            foreach (ClusterNode node in cluster.Nodes)
            {
                node.WaitForSubnetFile();
                node.AddPod();
            }

            ClusterNode a = cluster.Nodes[0];
            ClusterNode b = cluster.Nodes[1];
            string route = $"{b.LeaseSubnet} via {b.UnderlayAddress}";
            Assert.That(Poll.Until(() => a.Ns.IpJson("route", "show", b.LeaseSubnet).EnumerateArray()
                .Any(r => r.GetProperty("gateway").GetString() == b.UnderlayAddress && r.GetProperty("dev").GetString() == "eth0")), Is.True, $"no {route} dev eth0");
            Assert.That(Kernel.RoutesOnDevice(a.Ns), Is.Empty, "no peer goes through the VXLAN device");
            Assert.That(Poll.Until(() => a.Pod!.Ping(b.PodAddress)), Is.True);
        }
        finally
        {
            cluster.AttachLogsIfFailed();
        }
    }
}
