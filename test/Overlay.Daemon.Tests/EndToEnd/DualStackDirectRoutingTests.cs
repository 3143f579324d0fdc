using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>
/// Backend.DirectRouting in a dual-stack network: two nodes on one IPv6 underlay segment (2001:db8:1::/64) route
/// each other's IPv6 pod subnets via each other's underlay IPv6 address on eth0, not through flannel-v6.1.
/// </summary>
[NonParallelizable]
public class DualStackDirectRoutingTests : PodClusterFixture
{
    private const string DeviceV6 = "flannel-v6.1";

    private const string Config =
        "{\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8:100::/48\",\"Backend\":{\"Type\":\"vxlan\",\"DirectRouting\":true}}";

    protected override OverlayClusterOptions ClusterOptions() => Daemon.ClusterOptions(nodes: 2, config: Config, ipv6Underlay: true);

    /// <summary>The kernel's IPv6 routes to <paramref name="destination"/> as "via gateway dev device".</summary>
    private static List<string> RoutesV6To(NetNs ns, string destination) =>
        ns.IpJson("-6", "route", "show", destination).EnumerateArray()
            .Select(r => $"via {(r.TryGetProperty("gateway", out JsonElement g) ? g.GetString() : "-")} dev {r.GetProperty("dev").GetString()}")
            .ToList();

    /// <summary>Routes on flannel-v6.1 via a gateway: the peers' routes (the device's own address routes have none).</summary>
    private static List<string> PeerRoutesOnDeviceV6(NetNs ns) =>
        ns.IpJson("-6", "route", "show", "dev", DeviceV6).EnumerateArray()
            .Where(r => r.TryGetProperty("gateway", out _))
            .Select(r => $"{r.GetProperty("dst").GetString()} via {r.GetProperty("gateway").GetString()}")
            .ToList();

    [Test]
    [Order(1)]
    public void IPv6_routes_to_peers_go_via_their_underlay_IPv6_address_on_eth0_and_not_through_flannel_v6()
    {
        foreach (ClusterNode node in Cluster.Nodes)
        {
            foreach (ClusterNode peer in Cluster.Nodes.Where(p => p != node))
            {
                string wanted = $"via {peer.UnderlayAddressV6} dev eth0";
                Assert.That(Poll.Until(() => RoutesV6To(node.Ns, peer.LeaseSubnetV6!).Contains(wanted)), Is.True,
                    $"{node.Name}: no {peer.LeaseSubnetV6} {wanted}; has [{string.Join("; ", RoutesV6To(node.Ns, peer.LeaseSubnetV6!))}]");
                Assert.That(RoutesV6To(node.Ns, peer.LeaseSubnetV6!), Has.Count.EqualTo(1), $"{node.Name}: one route to {peer.LeaseSubnetV6}");
            }

            Assert.That(PeerRoutesOnDeviceV6(node.Ns), Is.Empty, $"{node.Name}: no IPv6 peer goes through {DeviceV6}");
            Assert.That(Kernel.Fdb(node.Ns, DeviceV6), Is.Empty, $"{node.Name}: a direct peer needs no FDB entry on {DeviceV6}");
            Assert.That(Kernel.RoutesOnDevice(node.Ns), Is.Empty, $"{node.Name}: the IPv4 peers are direct too");
            Assert.That(node.DaemonOutput, Does.Not.Contain("kernel change failed").And.Not.Contain("is not programmed"), node.Name);
        }
    }

    [Test]
    [Order(2)]
    public void A_pod_reaches_the_other_nodes_pod_over_IPv6_unencapsulated_on_the_underlay()
    {
        ClusterNode from = Cluster.Nodes[0];
        ClusterNode to = Cluster.Nodes[1];

        // The receiving node counts echo requests that arrive on eth0 with the sending pod's own address: VXLAN would
        // bring them in as UDP from the sending node's underlay address and hand them over on flannel-v6.1.
        to.Ns.ExecChecked("nft", "add", "table", "ip6", "seen");
        to.Ns.ExecChecked("nft", "add", "chain", "ip6", "seen", "through", "{ type filter hook forward priority 0; }");
        to.Ns.ExecChecked("nft", "add", "rule", "ip6", "seen", "through", "iifname", "eth0", "ip6", "saddr", from.PodAddressV6!, "icmpv6", "type", "echo-request", "counter");
        try
        {
            Assert.That(Poll.Until(() => from.Pod!.Ping(to.PodAddressV6!)), Is.True, $"{from.Name} pod -> {to.Name} pod {to.PodAddressV6}");
            string counters = to.Ns.ExecChecked("nft", "list", "table", "ip6", "seen").StdOut;
            Assert.That(counters, Does.Match(@"counter packets [1-9]"), counters);
            Assert.That(Poll.Until(() => to.Pod!.Ping(from.PodAddressV6!)), Is.True, $"{to.Name} pod -> {from.Name} pod {from.PodAddressV6}");
        }
        finally
        {
            to.Ns.Exec("nft", "delete", "table", "ip6", "seen");
        }
    }

    [Test]
    [Order(3)]
    public void A_direct_IPv6_route_deleted_by_hand_comes_back()
    {
        ClusterNode node = Cluster.Nodes[0];
        ClusterNode peer = Cluster.Nodes[1];
        string wanted = $"via {peer.UnderlayAddressV6} dev eth0";
        Assert.That(Poll.Until(() => RoutesV6To(node.Ns, peer.LeaseSubnetV6!).Contains(wanted)), Is.True);

        node.Ns.ExecChecked("ip", "-6", "route", "del", peer.LeaseSubnetV6!); // fails unless the route was there

        Assert.That(Poll.Until(() => RoutesV6To(node.Ns, peer.LeaseSubnetV6!).Contains(wanted), TimeSpan.FromSeconds(3)), Is.True,
            $"{node.Name}: {peer.LeaseSubnetV6} {wanted} was not restored");
        Assert.That(Poll.Until(() => node.Pod!.Ping(peer.PodAddressV6!)), Is.True, "traffic flows again");
    }
}
