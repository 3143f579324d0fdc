using System.Net;
using Overlay.Cli.Inspection;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Netlink;

namespace Overlay.Cli.Tests.Inspection;

/// <summary>The comparison behind <c>node status</c> and <c>trace</c>, on kernels described by hand: no I/O.</summary>
public sealed class NodeComparisonTests
{
    private const int Device = 5;
    private const int Eth0 = 2;
    private static readonly MacAddress OwnMac = MacAddress.Parse("0e:00:00:00:00:11");
    private static readonly MacAddress PeerMac = MacAddress.Parse("0e:00:00:00:00:12");
    private static readonly IPNetwork PeerSubnet = IPNetwork.Parse("198.18.2.0/24");
    private static readonly IPAddress PeerGateway = IPAddress.Parse("198.18.2.0");
    private static readonly IPAddress PeerNode = IPAddress.Parse("192.0.2.12");

    private static readonly NetworkConfig Config = NetworkConfigParser.TryParse("""{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan"}}""", out NetworkConfig? c, out _)
        ? c
        : throw new InvalidOperationException("test config");

    private static readonly Lease Own = LeaseOf("198.18.1.0-24", "192.0.2.11", OwnMac.ToString());
    private static readonly Lease Peer = LeaseOf("198.18.2.0-24", "192.0.2.12", PeerMac.ToString());

    [Test]
    public void A_kernel_holding_every_entry_a_lease_calls_for_matches()
    {
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], Kernel());

        Assert.That(view.Matches, Is.True, string.Join("\n", view.Problems));
        Assert.That(view.Own, Is.EqualTo(Own));
        Assert.That(view.OwnFoundBy, Is.EqualTo("its subnet address 198.18.1.0 is on flannel.1"));
        PeerCheck peer = view.Peers.Single();
        Assert.That(peer.State, Is.EqualTo(PeerState.Ok));
        Assert.That(peer.Entries.Select(e => e.Expected), Is.EqualTo(new[]
        {
            "198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink",
            "198.18.2.0 lladdr 0e:00:00:00:00:12 dev flannel.1 PERMANENT",
            "0e:00:00:00:00:12 dev flannel.1 dst 192.0.2.12 self permanent",
        }));
    }

    [Test]
    public void A_missing_route_is_counted_missing_and_tied_to_its_lease()
    {
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], Kernel(routes: []));

        Assert.That(view.Matches, Is.False);
        EntryCheck missing = view.Missing.Single();
        Assert.That((missing.Kind, missing.Status, missing.Lease), Is.EqualTo((EntryKind.Route, EntryStatus.Missing, (SubnetKey?)Peer.Subnet)));
        Assert.That(view.Peers.Single().State, Is.EqualTo(PeerState.Broken));
        Assert.That(view.Stale, Is.Empty);
        Assert.That(view.Foreign, Is.Empty);
    }

    [Test]
    public void A_neighbour_with_another_MAC_is_stale_and_shows_what_the_kernel_has()
    {
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], Kernel(neighbours: [new NeighbourEntry(Device, PeerGateway, MacAddress.Parse("0e:00:00:00:00:99"))]));

        EntryCheck stale = view.Stale.Single();
        Assert.That(stale.Kind, Is.EqualTo(EntryKind.Neighbour));
        Assert.That(stale.Actual, Is.EqualTo("198.18.2.0 lladdr 0e:00:00:00:00:99 dev flannel.1 PERMANENT"));
        Assert.That(view.Missing, Is.Empty);
    }

    [Test]
    public void An_FDB_entry_sending_a_peers_MAC_to_another_node_is_one_stale_entry()
    {
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], Kernel(fdb: [new FdbEntry(Device, PeerMac, IPAddress.Parse("192.0.2.99"))]));

        Assert.That(view.Stale.Select(e => (e.Kind, e.Actual)), Is.EqualTo(new[] { (EntryKind.Fdb, (string?)"0e:00:00:00:00:12 dev flannel.1 dst 192.0.2.99 self permanent") }));
        Assert.That(view.Missing, Is.Empty);
        Assert.That(view.Foreign, Is.Empty);
    }

    [Test]
    public void An_FDB_entry_added_by_hand_with_the_right_destination_is_right_though_the_kernel_marks_it_NOARP()
    {
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], Kernel(fdb: [new FdbEntry(Device, PeerMac, PeerNode) { State = NeighbourState.Permanent | NeighbourState.NoArp }]));

        Assert.That(view.Matches, Is.True);
        Assert.That(view.Peers.Single().Fdb!.Status, Is.EqualTo(EntryStatus.Ok));
    }

    [Test]
    public void Entries_on_the_device_that_no_lease_calls_for_are_foreign()
    {
        RouteEntry extraRoute = RouteEntry.ViaGateway(IPNetwork.Parse("198.18.9.0/24"), IPAddress.Parse("198.18.9.0"), Device, onLink: true);
        FdbEntry extraFdb = new(Device, MacAddress.Parse("0e:00:00:00:00:77"), IPAddress.Parse("192.0.2.77"));
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], Kernel(routes: [.. PeerRoutes(), extraRoute], fdb: [.. PeerFdb(), extraFdb]));

        Assert.That(view.Foreign.Select(e => (e.Kind, e.Actual)), Is.EqualTo(new[]
        {
            (EntryKind.Route, (string?)"198.18.9.0/24 via 198.18.9.0 dev flannel.1 onlink"),
            (EntryKind.Fdb, (string?)"0e:00:00:00:00:77 dev flannel.1 dst 192.0.2.77 self permanent"),
        }));
        Assert.That(view.Matches, Is.False);
        Assert.That(view.Peers.Single().State, Is.EqualTo(PeerState.Ok));
    }

    [Test]
    public void A_lease_overlayd_skips_is_listed_with_its_reason_and_does_not_break_the_match()
    {
        Lease hostGw = LeaseOf("198.18.3.0-24", "192.0.2.13", null) with { Attributes = LeaseOf("198.18.3.0-24", "192.0.2.13", null).Attributes with { BackendType = "host-gw" } };

        NodeView view = NodeComparison.Compare(Config, [Own, Peer, hostGw], Kernel());

        Assert.That(view.Matches, Is.True);
        PeerCheck skipped = view.Peers.Single(p => p.Lease == hostGw);
        Assert.That((skipped.State, skipped.Reason), Is.EqualTo((PeerState.Skipped, (string?)"has backend type 'host-gw', not vxlan")));
    }

    [Test]
    public void Without_the_device_the_node_does_not_match_and_its_lease_is_found_by_address()
    {
        KernelSnapshot kernel = Kernel() with { Links = [new LinkInfo(Eth0, "eth0") { Flags = 1 }], Addresses = [new AddressEntry(Eth0, IPAddress.Parse("192.0.2.11"), 24)] };

        NodeView view = NodeComparison.Compare(Config, [Own, Peer], kernel);

        Assert.That(view.Own, Is.EqualTo(Own));
        Assert.That(view.OwnFoundBy, Is.EqualTo("its PublicIP is an address of this node"));
        Assert.That(view.Problems, Is.EqualTo(new[] { "flannel.1: missing (overlayd makes it once it holds a lease)" }));
        Assert.That(view.Matches, Is.False);
    }

    [Test]
    public void A_device_whose_MAC_is_not_the_leases_VtepMAC_is_a_problem()
    {
        KernelSnapshot kernel = Kernel();
        kernel = kernel with { Links = [kernel.Links[0], kernel.Links[1] with { Mac = MacAddress.Parse("0e:00:00:00:00:55") }] };

        NodeView view = NodeComparison.Compare(Config, [Own, Peer], kernel);

        Assert.That(view.Problems, Is.EqualTo(new[] { "flannel.1: has MAC 0e:00:00:00:00:55, but this node's lease advertises VtepMAC 0e:00:00:00:00:11: peers would send to the wrong MAC" }));
    }

    [Test]
    public void A_named_lease_that_is_not_in_etcd_leaves_nothing_to_compare()
    {
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], Kernel(), SubnetKey.Parse("198.18.7.0-24"));

        Assert.That(view.Own, Is.Null);
        Assert.That(view.Problems, Does.Contain("no lease 198.18.7.0-24 in etcd (named by --subnet)"));
        Assert.That(view.Matches, Is.False);
    }

    [Test]
    public void A_trace_breaks_at_the_first_entry_on_the_path_that_is_wrong()
    {
        KernelSnapshot kernel = Kernel(neighbours: [], fdb: []);
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], kernel);

        TracedPath path = PathTrace.To(PathTrace.Resolve(IPAddress.Parse("198.18.2.7"), Config, [Own, Peer], Own), view, kernel);

        Assert.That(path.BreaksAt, Is.EqualTo("neighbour"));
        Assert.That(path.Entries.Select(e => e.Status), Is.EqualTo(new[] { EntryStatus.Ok, EntryStatus.Missing, EntryStatus.Missing }));
        Assert.That(path.Explanation, Does.StartWith("flannel.1 has no neighbour entry for 198.18.2.0, node 192.0.2.12's VTEP address"));
    }

    [Test]
    public void A_trace_is_whole_when_the_entries_and_the_kernels_own_route_agree()
    {
        KernelSnapshot kernel = Kernel(lookups: new() { [IPAddress.Parse("198.18.2.7")] = new RouteLookup(IPAddress.Parse("198.18.2.7"), Device, PeerGateway, null, 254) });
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], kernel);

        TracedPath path = PathTrace.To(PathTrace.Resolve(IPAddress.Parse("198.18.2.7"), Config, [Own, Peer], Own), view, kernel);

        Assert.That(path.Whole, Is.True, path.Explanation);
        Assert.That(path.KernelRoute, Is.EqualTo("via 198.18.2.0 dev flannel.1"));
        Assert.That(path.Explanation, Is.EqualTo("whole: 198.18.2.7 → route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink → neighbour 198.18.2.0 is VTEP MAC 0e:00:00:00:00:12 → FDB sends 0e:00:00:00:00:12 to 192.0.2.12 (node 192.0.2.12) over UDP"));
    }

    [Test]
    public void A_trace_breaks_at_the_kernel_route_when_another_route_wins_over_right_entries()
    {
        KernelSnapshot kernel = Kernel(lookups: new() { [IPAddress.Parse("198.18.2.7")] = new RouteLookup(IPAddress.Parse("198.18.2.7"), Eth0, IPAddress.Parse("192.0.2.1"), null, 254) });
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], kernel);

        TracedPath path = PathTrace.To(PathTrace.Resolve(IPAddress.Parse("198.18.2.7"), Config, [Own, Peer], Own), view, kernel);

        Assert.That(path.BreaksAt, Is.EqualTo("kernel route"));
        Assert.That(path.Explanation, Does.Contain("the kernel sends it via 192.0.2.1 dev eth0, not through flannel.1"));
    }

    [Test]
    public void An_address_in_no_lease_breaks_at_the_destination_and_one_on_this_node_does_not_cross_the_overlay()
    {
        KernelSnapshot kernel = Kernel(lookups: new() { [IPAddress.Parse("198.18.1.9")] = new RouteLookup(IPAddress.Parse("198.18.1.9"), 9, null, null, 254) });
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], kernel);

        TracedPath nowhere = PathTrace.To(PathTrace.Resolve(IPAddress.Parse("198.18.40.1"), Config, [Own, Peer], Own), view, kernel);
        TracedPath local = PathTrace.To(PathTrace.Resolve(IPAddress.Parse("198.18.1.9"), Config, [Own, Peer], Own), view, kernel);

        Assert.That(nowhere.BreaksAt, Is.EqualTo("destination"));
        Assert.That(local.Whole, Is.True);
        Assert.That(local.Explanation, Does.StartWith("198.18.1.9 is on this node (198.18.1.0/24): it does not cross the overlay"));
    }

    [Test]
    public void An_address_of_this_nodes_subnet_the_kernel_sends_to_a_gateway_breaks_at_the_local_bridge()
    {
        KernelSnapshot kernel = Kernel(lookups: new() { [IPAddress.Parse("198.18.1.9")] = new RouteLookup(IPAddress.Parse("198.18.1.9"), Eth0, IPAddress.Parse("192.0.2.1"), null, 254) });
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], kernel);

        TracedPath local = PathTrace.To(PathTrace.Resolve(IPAddress.Parse("198.18.1.9"), Config, [Own, Peer], Own), view, kernel);

        Assert.That(local.BreaksAt, Is.EqualTo("local bridge"));
        Assert.That(local.Explanation, Is.EqualTo("198.18.1.9 is in this node's subnet 198.18.1.0/24, but the kernel sends it via 192.0.2.1 dev eth0: no local bridge (cni0) holds the subnet; does a pod run here?"));
    }

    [Test]
    public void In_a_dual_stack_network_each_half_of_a_lease_is_checked_on_its_own_device()
    {
        NetworkConfig dual = NetworkConfigParser.TryParse("""{"Network":"198.18.0.0/16","EnableIPv6":true,"IPv6Network":"2001:db8:100::/48","Backend":{"Type":"vxlan"}}""", out NetworkConfig? d, out _)
            ? d
            : throw new InvalidOperationException("dual-stack config");
        MacAddress ownMac6 = MacAddress.Parse("0e:06:00:00:00:11");
        MacAddress peerMac6 = MacAddress.Parse("0e:06:00:00:00:12");
        Lease own = DualLease("198.18.1.0-24&2001:db8:100:1::-64", "192.0.2.11", "2001:db8:1::11", OwnMac, ownMac6);
        Lease peer = DualLease("198.18.2.0-24&2001:db8:100:2::-64", "192.0.2.12", "2001:db8:1::12", PeerMac, peerMac6);
        const int DeviceV6 = 6;
        KernelSnapshot kernel = Kernel(fdb: [.. PeerFdb(), new FdbEntry(DeviceV6, peerMac6, IPAddress.Parse("2001:db8:1::12"))]);
        kernel = kernel with
        {
            Links = [.. kernel.Links, new LinkInfo(DeviceV6, "flannel-v6.1") { Flags = 1, Mtu = 1430, Kind = "vxlan", Mac = ownMac6, Vxlan = new VxlanInfo(1, IPAddress.Parse("2001:db8:1::11"), Eth0) }],
            Addresses = [.. kernel.Addresses, new AddressEntry(DeviceV6, IPAddress.Parse("2001:db8:100:1::"), 128)],
            Neighbours = [.. kernel.Neighbours, new NeighbourEntry(DeviceV6, IPAddress.Parse("2001:db8:100:2::"), peerMac6)],
        };

        NodeView view = NodeComparison.Compare(dual, [own, peer], kernel);

        Assert.That(view.Problems, Is.Empty);
        Assert.That(view.Peers.Select(p => (p.Family, p.State)), Is.EqualTo(new[]
        {
            (System.Net.Sockets.AddressFamily.InterNetwork, PeerState.Ok),
            (System.Net.Sockets.AddressFamily.InterNetworkV6, PeerState.Broken),
        }));
        Assert.That(view.Missing.Single().Expected, Is.EqualTo("2001:db8:100:2::/64 via 2001:db8:100:2:: dev flannel-v6.1 onlink"));
    }

    [Test]
    public void With_DirectRouting_a_peer_on_the_same_link_needs_only_a_route_via_its_address()
    {
        NetworkConfig direct = NetworkConfigParser.TryParse("""{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan","DirectRouting":true}}""", out NetworkConfig? d, out _)
            ? d
            : throw new InvalidOperationException("direct routing config");
        var onLink = new Dictionary<IPAddress, RouteLookup> { [PeerNode] = new RouteLookup(PeerNode, Eth0, null, null, 254) };
        KernelSnapshot kernel = Kernel(routes: [RouteEntry.ViaGateway(PeerSubnet, PeerNode, Eth0)], neighbours: [], fdb: [], lookups: onLink);

        NodeView view = NodeComparison.Compare(direct, [Own, Peer], kernel);

        Assert.That(view.Matches, Is.True, string.Join("\n", view.Missing.Select(m => m.Expected)));
        PeerCheck peer = view.Peers.Single();
        Assert.That(peer.Route!.Expected, Is.EqualTo("198.18.2.0/24 via 192.0.2.12"));
        Assert.That(peer.Neighbour, Is.Null);
        Assert.That(peer.Fdb, Is.Null);
    }

    [Test]
    public void The_report_counts_per_lease_and_lists_each_wrong_entry_only_with_wide()
    {
        RouteEntry extraRoute = RouteEntry.ViaGateway(IPNetwork.Parse("198.18.9.0/24"), IPAddress.Parse("198.18.9.0"), Device, onLink: true);
        NodeView view = NodeComparison.Compare(Config, [Own, Peer], Kernel(routes: [extraRoute], neighbours: []));
        var status = new Overlay.Cli.Output.NodeStatus(null, view, ["ip overlay"], null, null);
        var narrow = new StringWriter();
        var wide = new StringWriter();

        Overlay.Cli.Output.NodeStatusView.WriteText(narrow, status, DateTimeOffset.UnixEpoch, wide: false);
        Overlay.Cli.Output.NodeStatusView.WriteText(wide, status, DateTimeOffset.UnixEpoch, wide: true);
        Overlay.Cli.Output.NodeStatusJson json = Overlay.Cli.Output.NodeStatusView.ToJson(status, DateTimeOffset.UnixEpoch);

        Assert.That(narrow.ToString(), Does.Contain("Entries:   2 missing, 0 stale, 1 foreign (listed with -o wide)\n"));
        Assert.That(narrow.ToString(), Does.Not.Contain("198.18.9.0/24"));
        Assert.That(narrow.ToString(), Does.EndWith("Result: the kernel does not match etcd: 2 missing, 1 foreign; see -o wide\n"));
        Assert.That(wide.ToString(), Does.Contain(
            "Missing:\n  route 198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink (lease 198.18.2.0/24)\n"
            + "  neighbour 198.18.2.0 lladdr 0e:00:00:00:00:12 dev flannel.1 PERMANENT (lease 198.18.2.0/24)\n\n"
            + "Foreign (on overlayd's devices, for no lease in etcd):\n  route 198.18.9.0/24 via 198.18.9.0 dev flannel.1 onlink\n"));
        Assert.That((json.Matches, json.Counts.Peers, json.Counts.Broken, json.Counts.Missing, json.Counts.Foreign), Is.EqualTo((false, 1, 1, 2, 1)));
        Assert.That(json.Overlayd, Is.Null);
        Assert.That(json.Peers.Single().Fdb!.Status, Is.EqualTo("ok"));
    }

    [Test]
    public void Metrics_are_read_from_unlabelled_samples_with_Prometheus_special_values()
    {
        IReadOnlyDictionary<string, double> metrics = OverlaydHealth.ParseMetrics(
            "# HELP overlay_ready x\n# TYPE overlay_ready gauge\noverlay_ready 1\noverlay_lease_expiry_seconds +Inf\nhttp_requests{code=\"200\"} 3\noverlay_reconcile_last_duration_seconds 0.0012\n");

        Assert.That(metrics, Is.EquivalentTo(new Dictionary<string, double>
        {
            ["overlay_ready"] = 1,
            ["overlay_lease_expiry_seconds"] = double.PositiveInfinity,
            ["overlay_reconcile_last_duration_seconds"] = 0.0012,
        }));
    }

    [Test]
    public void Nft_table_lines_become_family_and_name()
    {
        Assert.That(NftTables.Parse("table ip overlay\ntable inet overlay-services\n"), Is.EqualTo(new[] { "ip overlay", "inet overlay-services" }));
    }

    private static Lease LeaseOf(string key, string publicIP, string? mac) => new(
        SubnetKey.Parse(key),
        LeaseAttributes.Parse(mac is null
            ? $"{{\"PublicIP\":\"{publicIP}\",\"BackendType\":\"vxlan\"}}"
            : $"{{\"PublicIP\":\"{publicIP}\",\"BackendType\":\"vxlan\",\"BackendData\":{{\"VNI\":1,\"VtepMAC\":\"{mac}\"}}}}"),
        EtcdLeaseId: 7);

    private static Lease DualLease(string key, string publicIP, string publicIPv6, MacAddress mac, MacAddress mac6) => new(
        SubnetKey.Parse(key),
        LeaseAttributes.Parse($$$"""{"PublicIP":"{{{publicIP}}}","PublicIPv6":"{{{publicIPv6}}}","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"{{{mac}}}"},"BackendV6Data":{"VNI":1,"VtepMAC":"{{{mac6}}}"}}"""),
        EtcdLeaseId: 7);

    private static RouteEntry[] PeerRoutes() => [RouteEntry.ViaGateway(PeerSubnet, PeerGateway, Device, onLink: true)];

    private static NeighbourEntry[] PeerNeighbours() => [new NeighbourEntry(Device, PeerGateway, PeerMac)];

    private static FdbEntry[] PeerFdb() => [new FdbEntry(Device, PeerMac, PeerNode)];

    /// <summary>Node 1 (192.0.2.11, lease 198.18.1.0/24) with flannel.1 up and, unless told otherwise, every entry for the peer.</summary>
    private static KernelSnapshot Kernel(
        IReadOnlyList<RouteEntry>? routes = null,
        IReadOnlyList<NeighbourEntry>? neighbours = null,
        IReadOnlyList<FdbEntry>? fdb = null,
        Dictionary<IPAddress, RouteLookup>? lookups = null) => new(
        [
            new LinkInfo(Eth0, "eth0") { Flags = 1, Mtu = 1500, Kind = "veth" },
            new LinkInfo(Device, "flannel.1") { Flags = 1, Mtu = 1450, Kind = "vxlan", Mac = OwnMac, Vxlan = new VxlanInfo(1, IPAddress.Parse("192.0.2.11"), Eth0) },
        ],
        [new AddressEntry(Eth0, IPAddress.Parse("192.0.2.11"), 24), new AddressEntry(Device, IPAddress.Parse("198.18.1.0"), 32)],
        routes ?? PeerRoutes(),
        neighbours ?? PeerNeighbours(),
        fdb ?? PeerFdb(),
        lookups ?? new Dictionary<IPAddress, RouteLookup>());
}
