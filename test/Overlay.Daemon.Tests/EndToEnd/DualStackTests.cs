using System.Diagnostics;
using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>
/// Three dual-stack nodes (IPv4 and IPv6 underlay, EnableIPv6 with 2001:db8:100::/48), a pod on each with an address
/// from FLANNEL_SUBNET and one from FLANNEL_IPV6_SUBNET: flannel-v6.1 carries the IPv6 pod traffic.
/// </summary>
[NonParallelizable]
public class DualStackTests : PodClusterFixture
{
    private const string DeviceV6 = "flannel-v6.1";

    private const string Config =
        "{\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8:100::/48\",\"Backend\":{\"Type\":\"vxlan\"}}";

    protected override OverlayClusterOptions ClusterOptions() =>
        Daemon.ClusterOptions(args: ["--resync-interval", "30s", "--ip-masq"], config: Config, ipv6Underlay: true);

    private static List<string> RoutesV6(NetNs ns) =>
        ns.IpJson("-6", "route", "show", "dev", DeviceV6).EnumerateArray()
            .Where(r => r.TryGetProperty("gateway", out _))
            .Select(r => $"{r.GetProperty("dst").GetString()} via {r.GetProperty("gateway").GetString()}{(Flags(r, "flags").Contains("onlink") ? " onlink" : "")}")
            .ToList();

    private static List<string> NeighboursV6(NetNs ns) =>
        ns.IpJson("-6", "neigh", "show", "dev", DeviceV6).EnumerateArray()
            .Where(n => n.TryGetProperty("lladdr", out _))
            .Select(n => $"{n.GetProperty("dst").GetString()} {n.GetProperty("lladdr").GetString()} {string.Join(",", Flags(n, "state"))}")
            .ToList();

    private static List<string> Flags(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement flags) ? flags.EnumerateArray().Select(f => f.GetString()!).ToList() : [];

    private static string AddressOf(string network) => network.Split('/')[0];

    private static string MacOf(NetNs ns, string device) => ns.IpJson("link", "show", device)[0].GetProperty("address").GetString()!;

    /// <summary>The three entries flannel programs for <paramref name="peer"/> on <paramref name="node"/>'s IPv6 device.</summary>
    private static bool HoldsIPv6EntriesFor(ClusterNode node, ClusterNode peer)
    {
        string subnet = peer.LeaseSubnetV6!;
        string mac = MacOf(peer.Ns, DeviceV6);
        return RoutesV6(node.Ns).Contains($"{subnet} via {AddressOf(subnet)} onlink")
            && NeighboursV6(node.Ns).Contains($"{AddressOf(subnet)} {mac} PERMANENT")
            && Kernel.Fdb(node.Ns, DeviceV6).Contains($"{mac} {peer.UnderlayAddressV6}");
    }

    [Test]
    [Order(1)]
    public void Each_node_has_a_flannel_v6_device_on_its_IPv6_underlay_address_and_a_lease_naming_it()
    {
        IReadOnlyDictionary<string, string> leases = Cluster.LeasesInEtcd();
        foreach (ClusterNode node in Cluster.Nodes)
        {
            JsonElement link = node.Ns.IpJson("-d", "link", "show", DeviceV6)[0];
            JsonElement vxlan = link.GetProperty("linkinfo").GetProperty("info_data");
            Assert.That(vxlan.GetProperty("id").GetInt32(), Is.EqualTo(1), node.Name);
            Assert.That(vxlan.GetProperty("local6").GetString(), Is.EqualTo(node.UnderlayAddressV6), node.Name);
            Assert.That(vxlan.GetProperty("link").GetString(), Is.EqualTo("eth0"), node.Name);
            Assert.That(vxlan.GetProperty("port").GetInt32(), Is.EqualTo(8472), node.Name);
            Assert.That(vxlan.GetProperty("learning").GetBoolean(), Is.False, node.Name);
            Assert.That(link.GetProperty("mtu").GetInt32(), Is.EqualTo(1430), $"{node.Name}: 1500 - 70");
            Assert.That(Flags(link, "flags"), Does.Contain("UP"), node.Name);

            string macV6 = link.GetProperty("address").GetString()!;
            Assert.That(macV6, Is.Not.EqualTo(MacOf(node.Ns, Kernel.Device)), $"{node.Name}: the two devices need MACs of their own");

            JsonElement address = node.Ns.IpJson("-6", "addr", "show", "dev", DeviceV6)[0].GetProperty("addr_info").EnumerateArray()
                .Single(a => a.GetProperty("scope").GetString() == "global");
            Assert.That($"{address.GetProperty("local").GetString()}/{address.GetProperty("prefixlen").GetInt32()}", Is.EqualTo($"{AddressOf(node.LeaseSubnetV6!)}/128"), node.Name);

            Assert.That(leases.Keys, Does.Contain(node.LeaseKey), $"{node.Name}: a dual-stack key");
            using JsonDocument lease = JsonDocument.Parse(leases[node.LeaseKey]);
            Assert.That(lease.RootElement.GetProperty("PublicIPv6").GetString(), Is.EqualTo(node.UnderlayAddressV6), node.Name);
            Assert.That(lease.RootElement.GetProperty("BackendV6Data").GetProperty("VtepMAC").GetString(), Is.EqualTo(macV6), node.Name);
            Assert.That(lease.RootElement.GetProperty("BackendData").GetProperty("VtepMAC").GetString(), Is.EqualTo(MacOf(node.Ns, Kernel.Device)), node.Name);
        }
    }

    [Test]
    [Order(2)]
    public void Each_node_holds_an_IPv6_neighbour_FDB_entry_and_onlink_route_per_peer_and_still_its_IPv4_ones()
    {
        foreach (ClusterNode node in Cluster.Nodes)
        {
            foreach (ClusterNode peer in Cluster.Nodes.Where(p => p != node))
            {
                Assert.That(Poll.Until(() => HoldsIPv6EntriesFor(node, peer)), Is.True,
                    $"{node.Name} lacks {peer.Name}'s IPv6 entries: routes [{string.Join("; ", RoutesV6(node.Ns))}], neighbours [{string.Join("; ", NeighboursV6(node.Ns))}], fdb [{string.Join("; ", Kernel.Fdb(node.Ns, DeviceV6))}]");
            }

            Assert.That(RoutesV6(node.Ns), Has.Count.EqualTo(2), node.Name);
            Assert.That(NeighboursV6(node.Ns), Has.Count.EqualTo(2), node.Name);
            Assert.That(Kernel.Fdb(node.Ns, DeviceV6), Has.Count.EqualTo(2), node.Name);
            Assert.That(Kernel.RoutesToAll(node, Cluster.Nodes), Is.True, $"{node.Name}: the IPv4 routes");
            Assert.That(Kernel.Fdb(node.Ns), Has.Count.EqualTo(2), $"{node.Name}: the IPv4 FDB entries");
            Assert.That(node.DaemonOutput, Does.Not.Contain("kernel change failed").And.Not.Contain("is not programmed"), node.Name);
            Assert.That(node.DaemonOutput, Does.Contain($"dual stack: IPv6 device {DeviceV6}, local and public IPv6 {node.UnderlayAddressV6}"), node.Name);
        }
    }

    [Test]
    [Order(3)]
    public void A_pod_reaches_the_pods_on_every_other_node_over_IPv6_and_IPv4()
    {
        foreach (ClusterNode from in Cluster.Nodes)
        {
            foreach (ClusterNode to in Cluster.Nodes.Where(n => n != from))
            {
                Assert.That(to.PodAddressV6, Does.StartWith("2001:db8:100:"));
                Assert.That(Poll.Until(() => from.Pod!.Ping(to.PodAddressV6!)), Is.True, $"{from.Name} pod -> {to.Name} pod {to.PodAddressV6}");
                Assert.That(Poll.Until(() => from.Pod!.Ping(to.PodAddress)), Is.True, $"{from.Name} pod -> {to.Name} pod {to.PodAddress}");
            }
        }
    }

    [Test]
    [Order(3)]
    public void With_ip_masq_IPv6_pod_traffic_keeps_its_address_inside_the_pod_network_and_is_masqueraded_leaving_it()
    {
        ClusterNode from = Cluster.Nodes[0];
        ClusterNode to = Cluster.Nodes[2];
        Assert.That(from.Ns.ExecChecked("nft", "list", "table", "ip6", "overlay").StdOut,
            Does.Contain($"ip6 saddr {from.LeaseSubnetV6}").And.Contain("masquerade"));

        // Pod to pod: the receiving pod counts echo requests from the sending pod's own address.
        to.Pod!.ExecChecked("nft", "add", "table", "ip6", "seen");
        to.Pod.ExecChecked("nft", "add", "chain", "ip6", "seen", "in", "{ type filter hook input priority 0; }");
        to.Pod.ExecChecked("nft", "add", "rule", "ip6", "seen", "in", "ip6", "saddr", from.PodAddressV6!, "icmpv6", "type", "echo-request", "counter");
        Assert.That(Poll.Until(() => from.Pod!.Ping(to.PodAddressV6!)), Is.True);
        Assert.That(to.Pod.ExecChecked("nft", "list", "table", "ip6", "seen").StdOut, Does.Match(@"counter packets [1-9]"), "pod to pod over IPv6 was NATed");

        // Pod to another node's underlay address (outside the pod network): it arrives from the sending node.
        to.Ns.ExecChecked("nft", "add", "table", "ip6", "seen");
        to.Ns.ExecChecked("nft", "add", "chain", "ip6", "seen", "in", "{ type filter hook input priority 0; }");
        to.Ns.ExecChecked("nft", "add", "rule", "ip6", "seen", "in", "ip6", "saddr", from.PodAddressV6!, "icmpv6", "type", "echo-request", "counter", "comment", "\"pod\"");
        to.Ns.ExecChecked("nft", "add", "rule", "ip6", "seen", "in", "ip6", "saddr", from.UnderlayAddressV6!, "icmpv6", "type", "echo-request", "counter", "comment", "\"node\"");
        try
        {
            Assert.That(Poll.Until(() => from.Pod!.Ping(to.UnderlayAddressV6!)), Is.True, "pod -> remote node over IPv6");
            string counters = to.Ns.ExecChecked("nft", "list", "table", "ip6", "seen").StdOut;
            Assert.That(counters, Does.Match(@"counter packets [1-9]\d* bytes \d+ comment ""node"""), counters);
            Assert.That(counters, Does.Match(@"counter packets 0 bytes 0 comment ""pod"""), counters);
        }
        finally
        {
            to.Ns.Exec("nft", "delete", "table", "ip6", "seen");
            to.Pod.Exec("nft", "delete", "table", "ip6", "seen");
        }
    }

    [Test]
    [Order(4)]
    public void An_IPv6_route_neighbour_and_FDB_entry_deleted_by_hand_come_back_within_a_second()
    {
        ClusterNode node = Cluster.Nodes[0];
        ClusterNode peer = Cluster.Nodes[1];
        Assert.That(Poll.Until(() => HoldsIPv6EntriesFor(node, peer)), Is.True);
        string subnet = peer.LeaseSubnetV6!;
        string mac = MacOf(peer.Ns, DeviceV6);

        var clock = Stopwatch.StartNew();
        node.Ns.ExecChecked("ip", "-6", "route", "del", subnet, "dev", DeviceV6);
        Assert.That(Poll.Until(() => HoldsIPv6EntriesFor(node, peer), TimeSpan.FromSeconds(1)), Is.True,
            $"the route was not restored within 1 s (resync interval is 30 s); after {clock.ElapsedMilliseconds} ms");

        clock.Restart();
        node.Ns.ExecChecked("ip", "-6", "neigh", "del", AddressOf(subnet), "dev", DeviceV6);
        node.Ns.ExecChecked("bridge", "fdb", "del", mac, "dev", DeviceV6, "dst", peer.UnderlayAddressV6!);
        Assert.That(Poll.Until(() => HoldsIPv6EntriesFor(node, peer), TimeSpan.FromSeconds(1)), Is.True,
            $"the neighbour and FDB entry were not restored within 1 s; after {clock.ElapsedMilliseconds} ms");
        Assert.That(Poll.Until(() => node.Pod!.Ping(peer.PodAddressV6!)), Is.True, "traffic flows again");
    }

    [Test]
    [Order(5)]
    public void A_deleted_IPv6_device_is_recreated_with_its_MAC_and_reprogrammed()
    {
        ClusterNode node = Cluster.Nodes[1];
        string mac = MacOf(node.Ns, DeviceV6);

        node.Ns.ExecChecked("ip", "link", "del", DeviceV6);

        Assert.That(Poll.Until(() => node.Ns.Exec("ip", "link", "show", DeviceV6).ExitCode == 0
            && Cluster.Nodes.Where(p => p != node).All(p => HoldsIPv6EntriesFor(node, p)), TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(MacOf(node.Ns, DeviceV6), Is.EqualTo(mac), "the IPv6 VTEP MAC must survive");
    }

    [Test]
    [Order(6)]
    public void At_start_IPv6_entries_left_for_a_node_that_is_gone_are_removed_and_the_peers_kept()
    {
        ClusterNode node = Cluster.Nodes[0];
        Assert.That(node.StopDaemon(), Is.Zero);
        node.Ns.ExecChecked("ip", "-6", "neigh", "replace", "2001:db8:100:99::", "lladdr", "0e:06:00:00:00:99", "dev", DeviceV6, "nud", "permanent");
        // As a previous overlayd or flanneld leaves it: NUD_PERMANENT only (`bridge fdb ... permanent` would add NUD_NOARP,
        // which marks an entry overlayd does not take for its own).
        using (var netlink = Overlay.Netlink.NetlinkHandle.OpenInNamespace(node.Ns.Name))
        {
            int index = node.Ns.IpJson("link", "show", DeviceV6)[0].GetProperty("ifindex").GetInt32();
            netlink.ReplaceFdb(new Overlay.Netlink.FdbEntry(index, Overlay.Netlink.MacAddress.Parse("0e:06:00:00:00:99"), System.Net.IPAddress.Parse("2001:db8:1::99")));
        }

        node.Ns.ExecChecked("ip", "-6", "route", "replace", "2001:db8:100:99::/64", "via", "2001:db8:100:99::", "dev", DeviceV6, "onlink");

        node.StartDaemon();

        Assert.That(Poll.Until(() => !RoutesV6(node.Ns).Any(r => r.StartsWith("2001:db8:100:99::/64", StringComparison.Ordinal))
            && !NeighboursV6(node.Ns).Any(n => n.StartsWith("2001:db8:100:99:: ", StringComparison.Ordinal))
            && !Kernel.Fdb(node.Ns, DeviceV6).Contains("0e:06:00:00:00:99 2001:db8:1::99")), Is.True,
            $"leftovers still there: routes [{string.Join("; ", RoutesV6(node.Ns))}], neighbours [{string.Join("; ", NeighboursV6(node.Ns))}], fdb [{string.Join("; ", Kernel.Fdb(node.Ns, DeviceV6))}]");
        Assert.That(Cluster.Nodes.Skip(1).All(p => HoldsIPv6EntriesFor(node, p)), Is.True, "the live peers stay programmed");
    }

    [Test]
    [Order(7)]
    public void A_deleted_lease_takes_its_IPv6_entries_away_on_the_other_nodes()
    {
        ClusterNode leaving = Cluster.Nodes[2];
        string subnet = leaving.LeaseSubnetV6!;
        string mac = MacOf(leaving.Ns, DeviceV6);
        foreach (ClusterNode node in Cluster.Nodes.Take(2))
        {
            Assert.That(Poll.Until(() => HoldsIPv6EntriesFor(node, leaving)), Is.True, $"{node.Name} before the deletion");
        }

        leaving.KillDaemon();
        Cluster.Etcd.Etcdctl("del", leaving.LeaseKey).EnsureSuccess();

        foreach (ClusterNode node in Cluster.Nodes.Take(2))
        {
            Assert.That(Poll.Until(() => !RoutesV6(node.Ns).Any(r => r.StartsWith(subnet + " ", StringComparison.Ordinal))), Is.True, $"route to {subnet} still on {node.Name}");
            Assert.That(Poll.Until(() => !NeighboursV6(node.Ns).Any(n => n.StartsWith(AddressOf(subnet) + " ", StringComparison.Ordinal))), Is.True, $"neighbour still on {node.Name}");
            Assert.That(Poll.Until(() => !Kernel.Fdb(node.Ns, DeviceV6).Contains($"{mac} {leaving.UnderlayAddressV6}")), Is.True, $"FDB entry still on {node.Name}");
            Assert.That(RoutesV6(node.Ns), Has.Count.EqualTo(1), $"{node.Name} keeps the remaining peer");
        }
    }
}

/// <summary>Dual stack on a node that has no IPv6 address to offer.</summary>
[NonParallelizable]
public class DualStackStartupTests
{
    [Test]
    public async Task Without_an_IPv6_underlay_address_overlayd_exits_1_naming_public_ipv6_and_with_it_it_runs()
    {
        Root.Require();
        await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = Daemon.Path,
            Nodes = 1,
            NetworkConfig = "{\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8:100::/48\",\"Backend\":{\"Type\":\"vxlan\"}}",
            StartDaemons = false,
        });
        ClusterNode node = cluster.Nodes[0];

        System.Diagnostics.Process daemon = node.StartDaemon();
        Assert.That(node.WaitForDaemonExit(TimeSpan.FromSeconds(30)), Is.True, "overlayd should give up at once:\n" + node.DaemonOutput);
        Assert.That(daemon.ExitCode, Is.EqualTo(1));
        Assert.That(node.DaemonOutput, Does.Contain("eth0 has no global IPv6 address").And.Contain("--public-ipv6"));
        Assert.That(node.ReadSubnetFile(), Is.Null, "no lease, no subnet.env");

        // With --public-ipv6 the node has an endpoint (here not on any interface: only the device and lease use it).
        node.StartDaemon("--public-ipv6", "2001:db8:1::99");
        Assert.That(node.WaitForSubnetFile(), Does.ContainKey("FLANNEL_IPV6_SUBNET"));
        Assert.That(node.Ns.IpJson("-d", "link", "show", "flannel-v6.1")[0].GetProperty("linkinfo").GetProperty("info_data").GetProperty("local6").GetString(),
            Is.EqualTo("2001:db8:1::99"));
    }
}
