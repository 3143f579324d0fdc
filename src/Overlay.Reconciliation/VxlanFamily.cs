using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Netlink;

namespace Overlay.Reconciliation;

/// <summary>
/// One VXLAN address family of the overlay: flannel.VNI over the IPv4 underlay, or, in a dual-stack network,
/// flannel-v6.VNI over the IPv6 one. It says which half of a lease it reads (subnet, public address, backend data),
/// how a bad half is worded, what overlayd owns in the kernel for it, and, once the device is ensured, the device's
/// index and MAC. A node runs a list of one (IPv4) or two (IPv4 then IPv6); code that used to branch per family
/// iterates over that list. Immutable: overlayd's reconciler holds the current value of each.
/// </summary>
public sealed record VxlanFamily
{
    /// <summary>VXLAN over IPv4 adds 50 bytes: outer IPv4 (20), UDP (8), VXLAN (8), inner Ethernet (14).</summary>
    public const int IPv4Overhead = 50;

    /// <summary>VXLAN over IPv6 adds 70 bytes: the outer IPv6 header is 40 bytes.</summary>
    public const int IPv6Overhead = 70;

    private VxlanFamily(AddressFamily addressFamily, string deviceName, IPNetwork podNetwork, int subnetLen, int vni, bool directRouting)
    {
        AddressFamily = addressFamily;
        DeviceName = deviceName;
        PodNetwork = podNetwork;
        SubnetLen = subnetLen;
        Vni = vni;
        DirectRouting = directRouting;
    }

    /// <summary>IPv4 (flannel.VNI) or IPv6 (flannel-v6.VNI): the family of the pod subnets and of the underlay.</summary>
    public AddressFamily AddressFamily { get; }

    public bool IsIPv6 => AddressFamily == AddressFamily.InterNetworkV6;

    /// <summary><c>flannel.VNI</c> or <c>flannel-v6.VNI</c>.</summary>
    public string DeviceName { get; }

    /// <summary>The pod network of this family: overlayd owns routes and neighbours inside it only.</summary>
    public IPNetwork PodNetwork { get; }

    /// <summary>The length of every lease's subnet in this family.</summary>
    public int SubnetLen { get; }

    public int Vni { get; }

    /// <summary>Whether a peer on the underlay link is routed via its public address instead of the device.</summary>
    public bool DirectRouting { get; }

    /// <summary>The device's VXLAN settings (local endpoint, underlay, port); null until <see cref="OnUnderlay"/>.</summary>
    public VxlanInfo? Vxlan { get; init; }

    /// <summary>The device's MTU: the underlay's less <see cref="Overhead"/>.</summary>
    public int Mtu { get; init; }

    /// <summary>The device as last ensured; 0 before.</summary>
    public int DeviceIndex { get; init; }

    /// <summary>The VTEP MAC: the one a new device is made with, then the one the device has (and keeps).</summary>
    public MacAddress DeviceMac { get; init; }

    /// <summary>The bytes VXLAN adds over this family's underlay.</summary>
    public int Overhead => IsIPv6 ? IPv6Overhead : IPv4Overhead;

    /// <summary>The prefix length of the device's address (the lease's network address): /32 or /128.</summary>
    public int HostPrefixLength => IsIPv6 ? 128 : 32;

    /// <summary>The kernel notifications about this family's routes and addresses (links and neighbours are common).</summary>
    public NetlinkGroups MonitorGroups => IsIPv6
        ? NetlinkGroups.IPv6Route | NetlinkGroups.IPv6Address
        : NetlinkGroups.IPv4Route | NetlinkGroups.IPv4Address;

    /// <summary>The lease field that holds this family's VTEP MAC, as problems name it.</summary>
    public string VtepMacField => IsIPv6 ? "BackendV6Data.VtepMAC" : "VtepMAC";

    /// <summary>flannel.VNI over IPv4, for the config's network.</summary>
    public static VxlanFamily IPv4(NetworkConfig config) =>
        new(AddressFamily.InterNetwork, "flannel." + config.Backend.Vni.ToString(CultureInfo.InvariantCulture), config.Network, config.SubnetLen, config.Backend.Vni, config.Backend.DirectRouting);

    /// <summary>flannel-v6.VNI over IPv6 (flannel's name in dual-stack mode), for the config's IPv6 network.</summary>
    public static VxlanFamily IPv6(NetworkConfig config)
    {
        IPv6NetworkConfig v6 = config.IPv6 ?? throw new ArgumentException("the network config has no IPv6 network", nameof(config));
        return new(AddressFamily.InterNetworkV6, "flannel-v6." + config.Backend.Vni.ToString(CultureInfo.InvariantCulture), v6.Network, v6.SubnetLen, config.Backend.Vni, config.Backend.DirectRouting);
    }

    /// <summary>The families a config asks for: IPv4, and IPv6 after it when the config enables IPv6.</summary>
    public static IReadOnlyList<VxlanFamily> Of(NetworkConfig config) =>
        config.IPv6 is null ? [IPv4(config)] : [IPv4(config), IPv6(config)];

    /// <summary>This family on a device: its VXLAN settings, its MTU from the underlay's, and the MAC for a new device.</summary>
    public VxlanFamily OnUnderlay(VxlanInfo vxlan, int underlayMtu, MacAddress macForNewDevice) =>
        this with { Vxlan = vxlan, Mtu = underlayMtu - Overhead, DeviceMac = macForNewDevice };

    /// <summary>A lease key's subnet in this family; null for an IPv4-only key and the IPv6 family.</summary>
    public IPNetwork? SubnetOf(SubnetKey key) => IsIPv6 ? key.IPv6 : key.IPv4;

    /// <summary>The lease's public address in this family (PublicIP or PublicIPv6), or null when it has no usable one.</summary>
    public IPAddress? PublicAddressOf(Lease lease) => IsIPv6 ? lease.Attributes.PublicAddressV6 : lease.Attributes.PublicAddress;

    /// <summary>The lease's backend data for this family (BackendData or BackendV6Data).</summary>
    public VxlanBackendData? BackendDataOf(Lease lease) => IsIPv6 ? lease.Attributes.BackendV6Data : lease.Attributes.BackendData;

    /// <summary>This node's lease attributes with this family's backend data: its VNI and the device's MAC.</summary>
    public LeaseAttributes Advertise(LeaseAttributes attributes)
    {
        var data = new VxlanBackendData { Vni = Vni, VtepMac = DeviceMac.ToString() };
        return IsIPv6 ? attributes with { BackendV6Data = data } : attributes with { BackendData = data };
    }

    /// <summary>Why a lease overlapping this node's own subnet of this family is left out.</summary>
    public string OverlapsOwnSubnet(IPNetwork ownSubnet) => $"overlaps this node's own {(IsIPv6 ? "IPv6 " : "")}subnet {ownSubnet}";

    /// <summary>
    /// Why a lease's half in this family cannot be programmed, or null; <paramref name="mac"/> is its VTEP MAC when it
    /// can. For the IPv6 family, call only for a lease with an IPv6 subnet.
    /// </summary>
    public string? Problem(Lease lease, out byte[] mac)
    {
        mac = [];
        IPNetwork subnet = SubnetOf(lease.Subnet) ?? throw new ArgumentException($"lease {lease.Subnet} has no {DeviceName} subnet", nameof(lease));
        string ofSubnet = IsIPv6 ? $" for its IPv6 subnet {subnet}" : "";
        if (!IPAddressMath.Covers(PodNetwork, subnet))
        {
            return IsIPv6
                ? $"its IPv6 subnet {subnet} lies outside the IPv6 network {PodNetwork}"
                : $"lies outside the network {PodNetwork}";
        }

        if (!string.Equals(lease.Attributes.BackendType, BackendConfig.VxlanType, StringComparison.OrdinalIgnoreCase))
        {
            return $"has backend type '{lease.Attributes.BackendType}', not vxlan";
        }

        if (BackendDataOf(lease) is not { } data || !VtepMac.TryParse(data.VtepMac, out mac))
        {
            return $"has no valid {VtepMacField} ('{BackendDataOf(lease)?.VtepMac}'){ofSubnet}";
        }

        if (data.Vni != 0 && data.Vni != Vni)
        {
            return $"{(IsIPv6 ? "its BackendV6Data is" : "is")} on VNI {data.Vni}, this network uses {Vni}";
        }

        return PublicAddressOf(lease) is null
            ? $"has no usable {(IsIPv6 ? "PublicIPv6" : "PublicIP")} ('{(IsIPv6 ? lease.Attributes.PublicIPv6 : lease.Attributes.PublicIP)}'){ofSubnet}"
            : null;
    }

    /// <summary>
    /// A reservation in this network with no backend data of this family at all: written ahead of its node, which
    /// fills in its VNI and VTEP MAC when its overlayd (or flanneld) starts. Anything else wrong with it is a fault.
    /// </summary>
    public bool AwaitsItsNode(Lease lease) =>
        lease.IsReservation
        && BackendDataOf(lease) is null
        && string.Equals(lease.Attributes.BackendType, BackendConfig.VxlanType, StringComparison.OrdinalIgnoreCase)
        && SubnetOf(lease.Subnet) is { } subnet && IPAddressMath.Covers(PodNetwork, subnet);

    /// <summary>What is said, once, about a reservation that awaits its node.</summary>
    public string AwaitingNodeReason(Lease lease) =>
        $"reserved for {lease.Attributes.PublicIP}{(lease.Attributes.OwnerId is { } owner ? $" (owner {owner})" : "")}, "
        + $"whose node has not written its {VtepMacField} yet; it is programmed when overlayd (or flanneld) starts there";

    /// <summary>Where overlayd's entries of this family live, given this node's subnet in it.</summary>
    public KernelDiff.Scope Scope(IPNetwork ownSubnet) => new(PodNetwork, ownSubnet, DeviceIndex, DirectRouting);
}
