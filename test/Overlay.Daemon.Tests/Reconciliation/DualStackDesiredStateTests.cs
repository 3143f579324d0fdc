using System.Net;
using System.Net.Sockets;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Daemon.Reconciliation;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Tests.Reconciliation;

/// <summary>Dual stack: each lease's IPv6 half goes to flannel-v6.VNI (device 8), judged apart from its IPv4 half.</summary>
public class DualStackDesiredStateTests
{
    internal const int DeviceIndex = 7;
    internal const int DeviceIndexV6 = 8;

    internal static readonly NetworkConfig Config = NetworkConfigParser.Parse(
        "{\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8:100::/48\",\"Backend\":{\"Type\":\"vxlan\"}}");

    internal static readonly SubnetKey Own = SubnetKey.Parse("198.18.1.0-24&2001:db8:100:1::-64");

    /// <summary>Node n: subnets 198.18.n.0/24 and 2001:db8:100:n::/64, public IPs 192.0.2.n and 2001:db8:1::n, MACs 0e:..:n and 0e:06:..:n.</summary>
    internal static Lease DualLease(int n, string? v6Subnet = null, string? publicIPv6 = null, string? macV6 = null, bool withV6Data = true, string? mac = null, string? subnet = null) =>
        new(
            SubnetKey.Parse($"{subnet ?? $"198.18.{n}.0-24"}&{v6Subnet ?? $"2001:db8:100:{n:x}::-64"}"),
            new LeaseAttributes
            {
                PublicIP = $"192.0.2.{n}",
                PublicIPv6 = publicIPv6 ?? $"2001:db8:1::{n:x}",
                BackendType = "vxlan",
                BackendData = new VxlanBackendData { Vni = 1, VtepMac = mac ?? $"0e:00:00:00:00:{n:x2}" },
                BackendV6Data = withV6Data ? new VxlanBackendData { Vni = 1, VtepMac = macV6 ?? $"0e:06:00:00:00:{n:x2}" } : null,
            },
            5);

    private static DesiredState Build(params Lease[] leases) => DesiredStateBuilder.Build(DesiredStateTests.Families(Config, DeviceIndex, DeviceIndexV6), leases, Own);

    private static List<RouteEntry> V6Routes(DesiredState state) =>
        state.Routes.Where(r => r.Destination.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6).ToList();

    private static List<RouteEntry> V4Routes(DesiredState state) =>
        state.Routes.Where(r => r.Destination.BaseAddress.AddressFamily == AddressFamily.InterNetwork).ToList();

    [Test]
    public void A_dual_stack_lease_gives_flannels_three_entries_on_each_device()
    {
        DesiredState state = Build(DualLease(2));

        MacAddress mac = MacAddress.Parse("0e:00:00:00:00:02");
        MacAddress mac6 = MacAddress.Parse("0e:06:00:00:00:02");
        Assert.That(state.Neighbours, Is.EquivalentTo(new[]
        {
            new NeighbourEntry(DeviceIndex, IPAddress.Parse("198.18.2.0"), mac),
            new NeighbourEntry(DeviceIndexV6, IPAddress.Parse("2001:db8:100:2::"), mac6),
        }));
        Assert.That(state.Fdb, Is.EquivalentTo(new[]
        {
            new FdbEntry(DeviceIndex, mac, IPAddress.Parse("192.0.2.2")),
            new FdbEntry(DeviceIndexV6, mac6, IPAddress.Parse("2001:db8:1::2")),
        }));
        Assert.That(state.Routes, Is.EquivalentTo(new[]
        {
            RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.0"), DeviceIndex, onLink: true),
            RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:2::/64"), IPAddress.Parse("2001:db8:100:2::"), DeviceIndexV6, onLink: true),
        }));
        Assert.That(state.Skipped, Is.Empty);
        Assert.That(state.PeerCount, Is.EqualTo(1), "one peer, programmed in both families");
    }

    [Test]
    public void Without_an_IPv6_device_only_IPv4_entries_are_built()
    {
        DesiredState state = DesiredStateBuilder.Build(DesiredStateTests.Families(Config, DeviceIndex), [DualLease(2)], Own);

        Assert.That(V6Routes(state), Is.Empty);
        Assert.That(state.Fdb.Select(f => f.InterfaceIndex), Is.All.EqualTo(DeviceIndex));
        Assert.That(state.PeerCount, Is.EqualTo(1));
    }

    [Test]
    public void The_nodes_own_lease_is_programmed_in_neither_family()
    {
        DesiredState state = Build(DualLease(1));

        Assert.That(state.Routes, Is.Empty);
        Assert.That(state.Skipped, Is.Empty);
    }

    [TestCase(null, null, false, "no valid BackendV6Data.VtepMAC", TestName = "Without BackendV6Data the IPv6 half is skipped and the IPv4 half programmed")]
    [TestCase(null, "0e:06", true, "no valid BackendV6Data.VtepMAC", TestName = "A malformed IPv6 VtepMAC skips the IPv6 half and the IPv4 half is programmed")]
    [TestCase("2001:db8:200:3::-64", null, true, "outside the IPv6 network", TestName = "An IPv6 subnet outside IPv6Network skips the IPv6 half and the IPv4 half is programmed")]
    [TestCase("2001:db8:100:1:8000::-65", null, true, "overlaps this node's own IPv6 subnet", TestName = "An IPv6 subnet overlapping this node's own skips the IPv6 half and the IPv4 half is programmed")]
    public void A_bad_IPv6_half_is_skipped_and_the_IPv4_half_is_still_programmed(string? v6Subnet, string? macV6, bool withV6Data, string reason)
    {
        DesiredState state = Build(DualLease(3, v6Subnet, macV6: macV6, withV6Data: withV6Data), DualLease(4));

        SkippedLease skip = state.Skipped.Single();
        Assert.That(skip.Reason, Does.Contain(reason));
        Assert.That(skip.Family, Is.EqualTo(AddressFamily.InterNetworkV6));
        Assert.That(V4Routes(state).Select(r => r.Destination), Does.Contain(IPNetwork.Parse("198.18.3.0/24")), "the good IPv4 half");
        Assert.That(V6Routes(state).Select(r => r.Destination.ToString()), Is.EqualTo(new[] { "2001:db8:100:4::/64" }));
        Assert.That(state.PeerCount, Is.EqualTo(2));
    }

    [Test]
    public void A_lease_without_a_usable_PublicIPv6_keeps_its_IPv4_half()
    {
        Lease bad = DualLease(3) with { Attributes = DualLease(3).Attributes with { PublicIPv6 = null } };
        DesiredState state = Build(bad);

        Assert.That(state.Skipped.Single().Reason, Does.Contain("no usable PublicIPv6"));
        Assert.That(V4Routes(state), Has.Count.EqualTo(1));
        Assert.That(V6Routes(state), Is.Empty);
        Assert.That(state.Neighbours.Select(n => n.InterfaceIndex), Is.All.EqualTo(DeviceIndex));
    }

    [Test]
    public void A_bad_IPv4_half_is_skipped_and_the_IPv6_half_is_still_programmed()
    {
        Lease bad = DualLease(3, mac: "not-a-mac");
        DesiredState state = Build(bad);

        SkippedLease skip = state.Skipped.Single();
        Assert.That(skip.Family, Is.EqualTo(AddressFamily.InterNetwork));
        Assert.That(skip.Reason, Does.Contain("no valid VtepMAC"));
        Assert.That(V4Routes(state), Is.Empty);
        Assert.That(V6Routes(state).Single().Destination, Is.EqualTo(IPNetwork.Parse("2001:db8:100:3::/64")));
        Assert.That(state.Fdb.Single(), Is.EqualTo(new FdbEntry(DeviceIndexV6, MacAddress.Parse("0e:06:00:00:00:03"), IPAddress.Parse("2001:db8:1::3"))));
        Assert.That(state.PeerCount, Is.EqualTo(1), "a peer programmed in IPv6 only still counts");
    }

    [Test]
    public void An_IPv4_subnet_outside_the_network_does_not_keep_the_IPv6_half_out()
    {
        DesiredState state = Build(DualLease(3, subnet: "198.19.3.0-24"));

        Assert.That(state.Skipped.Single().Reason, Does.Contain("outside the network 198.18.0.0/16"));
        Assert.That(V6Routes(state), Has.Count.EqualTo(1));
    }

    [Test]
    public void A_lease_without_an_IPv6_subnet_is_programmed_in_IPv4_only_and_not_reported()
    {
        var v4Only = new Lease(SubnetKey.Parse("198.18.5.0-24"), new LeaseAttributes
        {
            PublicIP = "192.0.2.5",
            BackendType = "vxlan",
            BackendData = new VxlanBackendData { Vni = 1, VtepMac = "0e:00:00:00:00:05" },
        }, 5);
        DesiredState state = Build(v4Only);

        Assert.That(state.Skipped, Is.Empty);
        Assert.That(V4Routes(state), Has.Count.EqualTo(1));
        Assert.That(V6Routes(state), Is.Empty);
    }

    [Test]
    public void Of_two_leases_with_overlapping_IPv6_subnets_only_the_first_gets_IPv6_entries()
    {
        DesiredState state = Build(DualLease(2, v6Subnet: "2001:db8:100:2::-63"), DualLease(3, v6Subnet: "2001:db8:100:3::-64"));

        SkippedLease skip = state.Skipped.Single();
        Assert.That(skip.Subnet.IPv4, Is.EqualTo(IPNetwork.Parse("198.18.3.0/24")));
        Assert.That(skip.Family, Is.EqualTo(AddressFamily.InterNetworkV6));
        Assert.That(skip.Reason, Does.Contain("overlaps the lease 2001:db8:100:2::/63"));
        Assert.That(V4Routes(state), Has.Count.EqualTo(2), "both IPv4 halves are fine");
        Assert.That(V6Routes(state).Single().Destination, Is.EqualTo(IPNetwork.Parse("2001:db8:100:2::/63")));
    }

    [Test]
    public void An_IPv6_VTEP_MAC_claimed_by_a_second_node_is_a_conflict_in_IPv6_only()
    {
        DesiredState state = Build(DualLease(2), DualLease(3, macV6: "0e:06:00:00:00:02"));

        SkippedLease skip = state.Skipped.Single();
        Assert.That(skip.Family, Is.EqualTo(AddressFamily.InterNetworkV6));
        Assert.That(skip.Reason, Does.Contain("BackendV6Data.VtepMAC 0e:06:00:00:00:02, which the lease"));
        Assert.That(V4Routes(state), Has.Count.EqualTo(2));
        Assert.That(V6Routes(state), Has.Count.EqualTo(1));
    }

    [Test]
    public void One_MAC_used_by_a_node_on_both_devices_gives_one_FDB_entry_per_device()
    {
        DesiredState state = Build(DualLease(2, macV6: "0e:00:00:00:00:02"));

        Assert.That(state.Skipped, Is.Empty);
        Assert.That(state.Fdb.Select(f => (f.InterfaceIndex, f.Destination!.ToString())), Is.EquivalentTo(new[] { (DeviceIndex, "192.0.2.2"), (DeviceIndexV6, "2001:db8:1::2") }));
        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(state, new ActualState([], [], []), Scope);
        Assert.That(changes.Count(c => c.Entry is FdbEntry), Is.EqualTo(2));
    }

    [Test]
    public void Direct_routing_sends_on_link_IPv6_peers_straight_to_their_PublicIPv6()
    {
        NetworkConfig direct = Config with { Backend = Config.Backend with { DirectRouting = true } };
        DesiredState state = DesiredStateBuilder.Build(DesiredStateTests.Families(direct, DeviceIndex, DeviceIndexV6), [DualLease(2)], Own, ip => ip.Equals(IPAddress.Parse("2001:db8:1::2")));

        Assert.That(state.Routes, Does.Contain(RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:2::/64"), IPAddress.Parse("2001:db8:1::2"))));
        Assert.That(state.Neighbours.Single().Address, Is.EqualTo(IPAddress.Parse("198.18.2.0")), "the IPv4 peer is off-link here, so it goes through VXLAN");
    }

    internal static readonly IReadOnlyList<KernelDiff.Scope> Scope =
    [
        new(Config.Network, Own.IPv4, DeviceIndex),
        new(Config.IPv6!.Network, Own.IPv6!.Value, DeviceIndexV6),
    ];

    [Test]
    public void The_diff_removes_stale_IPv6_entries_on_the_IPv6_device_and_leaves_the_kernels_own_alone()
    {
        var staleRoute = RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:9::/64"), IPAddress.Parse("2001:db8:100:9::"), DeviceIndexV6, onLink: true);
        var staleNeighbour = new NeighbourEntry(DeviceIndexV6, IPAddress.Parse("2001:db8:100:9::"), MacAddress.Parse("0e:06:00:00:00:09"));
        var staleFdb = new FdbEntry(DeviceIndexV6, MacAddress.Parse("0e:06:00:00:00:09"), IPAddress.Parse("2001:db8:1::9"));
        var ownAddressRoute = new RouteEntry(IPNetwork.Parse("2001:db8:100:1::/128"), null, DeviceIndexV6) { Protocol = 2 };
        var linkLocal = new RouteEntry(IPNetwork.Parse("fe80::/64"), null, DeviceIndexV6) { Protocol = 2 };
        var actual = new ActualState([staleRoute, ownAddressRoute, linkLocal], [staleNeighbour], [staleFdb]);

        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(Build(), actual, Scope);

        Assert.That(changes.Where(c => c.Operation == ChangeOperation.Delete).Select(c => c.Entry), Is.EquivalentTo(new KernelEntry[] { staleRoute, staleNeighbour, staleFdb }));
        Assert.That(changes, Has.Count.EqualTo(3));
    }

    [Test]
    public void IPv6_entries_are_not_taken_for_overlayds_without_the_IPv6_scope()
    {
        var route = RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:9::/64"), IPAddress.Parse("2001:db8:100:9::"), DeviceIndexV6, onLink: true);
        var v4Only = new KernelDiff.Scope(Config.Network, Own.IPv4, DeviceIndex);

        Assert.That(KernelDiff.Owns(route, v4Only), Is.False);
        Assert.That(KernelDiff.Owns(route, Scope), Is.True);
        Assert.That(KernelDiff.Owns(new FdbEntry(DeviceIndexV6, MacAddress.Parse("0e:06:00:00:00:09"), IPAddress.Parse("2001:db8:1::9")), v4Only), Is.False);
    }
}
