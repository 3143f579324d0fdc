using System.Net;
using System.Net.Sockets;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Daemon.Reconciliation;
using Overlay.Netlink;
using Overlay.Reconciliation;
using static Overlay.Daemon.Tests.Reconciliation.DualStackDesiredStateTests;

namespace Overlay.Daemon.Tests.Reconciliation;

public class VxlanFamilyTests
{
    private static readonly VxlanFamily IPv4 = VxlanFamily.IPv4(Config);
    private static readonly VxlanFamily IPv6 = VxlanFamily.IPv6(Config);

    [Test]
    public void An_IPv4_config_gives_one_family_and_a_dual_stack_config_two_IPv4_first()
    {
        NetworkConfig single = NetworkConfigParser.Parse("{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":42}}");

        Assert.That(VxlanFamily.Of(single).Select(f => (f.AddressFamily, f.DeviceName)), Is.EqualTo(new[] { (AddressFamily.InterNetwork, "flannel.42") }));
        Assert.That(VxlanFamily.Of(Config).Select(f => (f.AddressFamily, f.DeviceName, f.PodNetwork.ToString(), f.SubnetLen)), Is.EqualTo(new[]
        {
            (AddressFamily.InterNetwork, "flannel.1", "198.18.0.0/16", 24),
            (AddressFamily.InterNetworkV6, "flannel-v6.1", "2001:db8:100::/48", 64),
        }));
        Assert.That(() => VxlanFamily.IPv6(single), Throws.ArgumentException);
    }

    [Test]
    public void The_devices_MTU_leaves_room_for_the_encapsulation_of_its_underlay()
    {
        var vxlan = new VxlanInfo(1, IPAddress.Parse("192.0.2.11"), 2);
        MacAddress mac = MacAddress.Parse("0e:00:00:00:00:01");

        Assert.That(IPv4.OnUnderlay(vxlan, 1500, mac).Mtu, Is.EqualTo(1450));
        Assert.That(IPv6.OnUnderlay(vxlan with { Local = IPAddress.Parse("2001:db8:1::11") }, 1500, mac).Mtu, Is.EqualTo(1430));
        Assert.That(IPv4.OnUnderlay(vxlan, 9000, mac), Has.Property(nameof(VxlanFamily.DeviceMac)).EqualTo(mac).And.Property(nameof(VxlanFamily.Vxlan)).EqualTo(vxlan));
    }

    [Test]
    public void Each_family_reads_its_own_half_of_a_lease()
    {
        Lease lease = DualLease(2);
        Lease v4Only = DesiredStateTests.LeaseOf("198.18.3.0-24", "192.0.2.13");

        Assert.That(IPv4.SubnetOf(lease.Subnet), Is.EqualTo(IPNetwork.Parse("198.18.2.0/24")));
        Assert.That(IPv6.SubnetOf(lease.Subnet), Is.EqualTo(IPNetwork.Parse("2001:db8:100:2::/64")));
        Assert.That(IPv6.SubnetOf(v4Only.Subnet), Is.Null);
        Assert.That(IPv4.PublicAddressOf(lease), Is.EqualTo(IPAddress.Parse("192.0.2.2")));
        Assert.That(IPv6.PublicAddressOf(lease), Is.EqualTo(IPAddress.Parse("2001:db8:1::2")));
        Assert.That(IPv4.BackendDataOf(lease)!.VtepMac, Is.EqualTo("0e:00:00:00:00:02"));
        Assert.That(IPv6.BackendDataOf(lease)!.VtepMac, Is.EqualTo("0e:06:00:00:00:02"));
    }

    [Test]
    public void A_family_advertises_its_devices_MAC_in_its_half_of_the_nodes_lease()
    {
        var attributes = new LeaseAttributes { PublicIP = "192.0.2.11", BackendType = "vxlan" };
        attributes = (IPv4 with { DeviceMac = MacAddress.Parse("0e:00:00:00:00:11") }).Advertise(attributes);
        attributes = (IPv6 with { DeviceMac = MacAddress.Parse("0e:06:00:00:00:11") }).Advertise(attributes);

        Assert.That(attributes.BackendData, Is.EqualTo(new VxlanBackendData { Vni = 1, VtepMac = "0e:00:00:00:00:11" }));
        Assert.That(attributes.BackendV6Data, Is.EqualTo(new VxlanBackendData { Vni = 1, VtepMac = "0e:06:00:00:00:11" }));
    }

    [Test]
    public void Problems_are_worded_for_the_half_of_the_lease_they_concern()
    {
        Lease noMacs = DualLease(2, macV6: "bad", mac: "bad");
        Assert.That(IPv4.Problem(noMacs, out _), Is.EqualTo("has no valid VtepMAC ('bad')"));
        Assert.That(IPv6.Problem(noMacs, out _), Is.EqualTo("has no valid BackendV6Data.VtepMAC ('bad') for its IPv6 subnet 2001:db8:100:2::/64"));

        Lease outside = DualLease(2, v6Subnet: "2001:db8:200:2::-64", subnet: "203.0.113.0-24");
        Assert.That(IPv4.Problem(outside, out _), Is.EqualTo("lies outside the network 198.18.0.0/16"));
        Assert.That(IPv6.Problem(outside, out _), Is.EqualTo("its IPv6 subnet 2001:db8:200:2::/64 lies outside the IPv6 network 2001:db8:100::/48"));

        Lease noPublic = DualLease(2) with { Attributes = DualLease(2).Attributes with { PublicIP = "x", PublicIPv6 = "y" } };
        Assert.That(IPv4.Problem(noPublic, out _), Is.EqualTo("has no usable PublicIP ('x')"));
        Assert.That(IPv6.Problem(noPublic, out _), Is.EqualTo("has no usable PublicIPv6 ('y') for its IPv6 subnet 2001:db8:100:2::/64"));

        Assert.That(IPv4.Problem(DualLease(2), out byte[] mac), Is.Null);
        Assert.That(MacAddress.FromBytes(mac), Is.EqualTo(MacAddress.Parse("0e:00:00:00:00:02")));
        Assert.That(IPv6.Problem(DualLease(2), out byte[] mac6), Is.Null);
        Assert.That(MacAddress.FromBytes(mac6), Is.EqualTo(MacAddress.Parse("0e:06:00:00:00:02")));
    }

    [Test]
    public void A_VNI_mismatch_is_worded_per_half()
    {
        Lease lease = DualLease(2);
        Lease otherVni = lease with
        {
            Attributes = lease.Attributes with
            {
                BackendData = lease.Attributes.BackendData! with { Vni = 5 },
                BackendV6Data = lease.Attributes.BackendV6Data! with { Vni = 6 },
            },
        };

        Assert.That(IPv4.Problem(otherVni, out _), Is.EqualTo("is on VNI 5, this network uses 1"));
        Assert.That(IPv6.Problem(otherVni, out _), Is.EqualTo("its BackendV6Data is on VNI 6, this network uses 1"));
    }

    [Test]
    public void The_scope_of_a_family_is_its_pod_network_device_and_own_subnet()
    {
        NetworkConfig direct = Config with { Backend = Config.Backend with { DirectRouting = true } };
        VxlanFamily family = VxlanFamily.IPv6(direct) with { DeviceIndex = 8 };

        Assert.That(family.Scope(Own.IPv6!.Value), Is.EqualTo(new KernelDiff.Scope(IPNetwork.Parse("2001:db8:100::/48"), IPNetwork.Parse("2001:db8:100:1::/64"), 8, DirectRouting: true)));
        Assert.That(family.MonitorGroups, Is.EqualTo(NetlinkGroups.IPv6Route | NetlinkGroups.IPv6Address));
        Assert.That(IPv4.MonitorGroups, Is.EqualTo(NetlinkGroups.IPv4Route | NetlinkGroups.IPv4Address));
        Assert.That((IPv4.HostPrefixLength, IPv6.HostPrefixLength), Is.EqualTo((32, 128)));
    }
}
