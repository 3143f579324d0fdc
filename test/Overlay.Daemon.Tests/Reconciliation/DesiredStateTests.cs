using System.Net;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Daemon.Reconciliation;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Tests.Reconciliation;

public class DesiredStateTests
{
    internal const int DeviceIndex = 7;
    internal static readonly NetworkConfig Config = NetworkConfigParser.Parse("{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}");
    internal static readonly SubnetKey Own = SubnetKey.Parse("198.18.1.0-24");

    /// <summary>The config's families on devices 7 (IPv4) and, given a second index, that one (IPv6).</summary>
    internal static IReadOnlyList<VxlanFamily> Families(NetworkConfig config, params int[] deviceIndexes) =>
        VxlanFamily.Of(config).Zip(deviceIndexes, (family, index) => family with { DeviceIndex = index }).ToList();

    internal static Lease LeaseOf(string subnet, string publicIP, string? mac = "0e:00:00:00:00:01", string backend = "vxlan", int vni = 1) =>
        new(SubnetKey.Parse(subnet), new LeaseAttributes { PublicIP = publicIP, BackendType = backend, BackendData = new VxlanBackendData { Vni = vni, VtepMac = mac } }, 5);

    [Test]
    public void Each_remote_lease_gives_flannels_neighbour_FDB_entry_and_onlink_route()
    {
        DesiredState state = DesiredStateBuilder.Build(Families(Config, DeviceIndex), [LeaseOf("198.18.2.0-24", "192.0.2.12", "0e:00:00:00:00:02")], Own);

        MacAddress mac = MacAddress.Parse("0e:00:00:00:00:02");
        Assert.That(state.Neighbours, Is.EqualTo(new[] { new NeighbourEntry(DeviceIndex, IPAddress.Parse("198.18.2.0"), mac) }));
        Assert.That(state.Fdb, Is.EqualTo(new[] { new FdbEntry(DeviceIndex, mac, IPAddress.Parse("192.0.2.12")) }));
        Assert.That(state.Routes, Is.EqualTo(new[] { RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.0"), DeviceIndex, onLink: true) }));
        Assert.That(state.Skipped, Is.Empty);
    }

    [Test]
    public void The_nodes_own_lease_is_not_programmed()
    {
        DesiredState state = DesiredStateBuilder.Build(Families(Config, DeviceIndex), [LeaseOf("198.18.1.0-24", "192.0.2.11")], Own);
        Assert.That(state.PeerCount, Is.Zero);
        Assert.That(state.Skipped, Is.Empty);
    }

    [TestCase("198.18.3.0-24", "192.0.2.13", null, "vxlan", 1, "no valid VtepMAC")]
    [TestCase("198.18.3.0-24", "192.0.2.13", "0e:00", "vxlan", 1, "no valid VtepMAC")]
    [TestCase("198.18.3.0-24", "192.0.2.13", "0e:00:00:00:00:03", "udp", 1, "backend type 'udp'")]
    [TestCase("198.18.3.0-24", "192.0.2.13", "0e:00:00:00:00:03", "vxlan", 9, "VNI 9")]
    [TestCase("198.19.3.0-24", "192.0.2.13", "0e:00:00:00:00:03", "vxlan", 1, "outside the network")]
    [TestCase("198.18.1.128-25", "192.0.2.13", "0e:00:00:00:00:03", "vxlan", 1, "overlaps this node's own subnet")]
    public void A_lease_that_cannot_be_programmed_is_skipped_with_the_reason(string subnet, string ip, string? mac, string backend, int vni, string reason)
    {
        DesiredState state = DesiredStateBuilder.Build(Families(Config, DeviceIndex), [LeaseOf(subnet, ip, mac, backend, vni), LeaseOf("198.18.4.0-24", "192.0.2.14")], Own);

        Assert.That(state.Skipped.Single().Reason, Does.Contain(reason));
        Assert.That(state.PeerCount, Is.EqualTo(1), "the good lease is still programmed");
    }

    [Test]
    public void A_reservation_without_backend_data_awaits_its_node_and_is_not_programmed()
    {
        var reservation = new Lease(SubnetKey.Parse("198.18.9.0-24"), new LeaseAttributes { PublicIP = "192.0.2.19", BackendType = "vxlan", OwnerId = "node-i" }, Lease.NoEtcdLease);

        DesiredState state = DesiredStateBuilder.Build(Families(Config, DeviceIndex), [reservation, LeaseOf("198.18.4.0-24", "192.0.2.14")], Own);

        Assert.That(state.Skipped.Single().AwaitingNode, Is.True);
        Assert.That(state.Skipped.Single().Reason, Is.EqualTo("reserved for 192.0.2.19 (owner node-i), whose node has not written its VtepMAC yet; it is programmed when overlayd (or flanneld) starts there"));
        Assert.That(state.PeerCount, Is.EqualTo(1));
    }

    [TestCase(5L, null, "vxlan", "198.18.9.0-24", Description = "a lease with an etcd lease: its node runs and wrote no MAC")]
    [TestCase(Lease.NoEtcdLease, "0e:00", "vxlan", "198.18.9.0-24", Description = "a reservation with a bad MAC")]
    [TestCase(Lease.NoEtcdLease, null, "udp", "198.18.9.0-24", Description = "a reservation for another backend")]
    [TestCase(Lease.NoEtcdLease, null, "vxlan", "198.19.9.0-24", Description = "a reservation outside the network")]
    public void Anything_else_without_a_usable_VTEP_MAC_is_a_fault_not_a_wait(long etcdLease, string? mac, string backend, string subnet)
    {
        var attributes = new LeaseAttributes { PublicIP = "192.0.2.19", BackendType = backend, BackendData = mac is null ? null : new VxlanBackendData { Vni = 1, VtepMac = mac } };

        DesiredState state = DesiredStateBuilder.Build(Families(Config, DeviceIndex), [new Lease(SubnetKey.Parse(subnet), attributes, etcdLease)], Own);

        Assert.That(state.Skipped.Single().AwaitingNode, Is.False, state.Skipped.Single().Reason);
    }

    [Test]
    public void Of_two_overlapping_leases_only_the_first_is_programmed()
    {
        DesiredState state = DesiredStateBuilder.Build(Families(Config, DeviceIndex), [LeaseOf("198.18.4.0-24", "192.0.2.14"), LeaseOf("198.18.4.0-25", "192.0.2.15")], Own);

        Assert.That(state.PeerCount, Is.EqualTo(1));
        Assert.That(state.Skipped.Single().Reason, Does.Contain("overlaps the lease 198.18.4.0/24"));
    }

    [Test]
    public void Direct_routing_sends_on_link_peers_straight_to_their_public_IP()
    {
        NetworkConfig direct = NetworkConfigParser.Parse("{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"DirectRouting\":true}}");
        DesiredState state = DesiredStateBuilder.Build(Families(direct, DeviceIndex), [LeaseOf("198.18.2.0-24", "192.0.2.12"), LeaseOf("198.18.3.0-24", "203.0.113.3", "0e:00:00:00:00:03")], Own,
            isOnLink: ip => ip.Equals(IPAddress.Parse("192.0.2.12")));

        Assert.That(state.Routes, Does.Contain(RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("192.0.2.12"))));
        Assert.That(state.Neighbours.Select(n => n.Address), Is.EqualTo(new[] { IPAddress.Parse("198.18.3.0") }), "only the off-link peer goes through VXLAN");
    }

    [Test]
    public void Two_leases_of_one_node_share_its_FDB_entry()
    {
        DesiredState state = DesiredStateBuilder.Build(Families(Config, DeviceIndex), [LeaseOf("198.18.2.0-24", "192.0.2.12"), LeaseOf("198.18.3.0-24", "192.0.2.12")], Own);

        Assert.That(state.PeerCount, Is.EqualTo(2));
        Assert.That(state.Neighbours, Has.Count.EqualTo(2));
        Assert.That(state.Fdb, Has.Count.EqualTo(1));
    }

    [Test]
    public void A_VTEP_MAC_claimed_by_a_second_node_is_skipped_as_a_conflict()
    {
        DesiredState state = DesiredStateBuilder.Build(Families(Config, DeviceIndex), [LeaseOf("198.18.2.0-24", "192.0.2.12"), LeaseOf("198.18.3.0-24", "192.0.2.13")], Own);

        Assert.That(state.PeerCount, Is.EqualTo(1));
        Assert.That(state.Skipped.Single().Reason, Does.Contain("already uses"));
    }
}
