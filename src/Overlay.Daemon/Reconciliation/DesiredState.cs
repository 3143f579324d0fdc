using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Netlink;

namespace Overlay.Daemon.Reconciliation;

/// <summary>
/// A lease (or, in a dual-stack network, one half of it) that cannot be programmed, and why. A skipped lease is
/// still counted as taken by the allocator. <paramref name="Family"/> says which half: IPv6 means only the lease's
/// IPv6 entries are left out, and its IPv4 part is judged on its own.
/// </summary>
public sealed record SkippedLease(SubnetKey Subnet, string Reason, AddressFamily Family = AddressFamily.InterNetwork);

/// <summary>
/// What the kernel should hold for the remote nodes: per peer a neighbour, an FDB entry and a route (or one direct
/// route), on flannel.VNI for IPv4 and, in a dual-stack network, on flannel-v6.VNI for IPv6 (both in these lists).
/// </summary>
public sealed record DesiredState(
    IReadOnlyList<RouteEntry> Routes,
    IReadOnlyList<NeighbourEntry> Neighbours,
    IReadOnlyList<FdbEntry> Fdb,
    IReadOnlyList<SkippedLease> Skipped)
{
    private readonly int? _peerCount;

    /// <summary>Remote leases with at least one part programmed (single stack: one route each).</summary>
    public int PeerCount
    {
        get => _peerCount ?? Routes.Count;
        init => _peerCount = value;
    }
}

/// <summary>
/// Computes the desired kernel state from the lease set, purely. For each remote vxlan lease (flannel's recipe):
/// neighbour <c>subnet-address lladdr VtepMAC nud permanent</c>, FDB <c>VtepMAC dst PublicIP self permanent</c>,
/// route <c>subnet via subnet-address dev flannel.VNI onlink</c>; with DirectRouting and a peer on the same link,
/// only <c>subnet via PublicIP</c>. In a dual-stack network the same again for each lease's IPv6 subnet, with
/// BackendV6Data.VtepMAC and PublicIPv6, on flannel-v6.VNI. The two halves of a lease are judged separately: a bad
/// IPv6 half does not keep a good IPv4 half out of the kernel, nor the other way round.
/// </summary>
public static class DesiredStateBuilder
{
    /// <param name="deviceIndexV6">The flannel-v6 device; 0 (or a config without IPv6) builds IPv4 entries only.</param>
    public static DesiredState Build(
        NetworkConfig config,
        IEnumerable<Lease> leases,
        SubnetKey own,
        int deviceIndex,
        Func<IPAddress, bool>? isOnLink = null,
        int deviceIndexV6 = 0)
    {
        var routes = new List<RouteEntry>();
        var neighbours = new List<NeighbourEntry>();
        var fdb = new List<FdbEntry>();
        var skipped = new List<SkippedLease>();
        var output = new Output(routes, neighbours, fdb, skipped);

        bool dualStack = deviceIndexV6 != 0 && config.IPv6 is not null && own.IPv6 is not null;
        IReadOnlyCollection<Lease> all = dualStack ? leases as IReadOnlyCollection<Lease> ?? leases.ToList() : [];
        HashSet<SubnetKey>? programmedV4 = dualStack ? [] : null;

        AddFamily(config, dualStack ? all : leases, own, deviceIndex, isOnLink, ipv6: false, output, programmedV4);
        int peers = routes.Count;
        if (dualStack)
        {
            HashSet<SubnetKey> programmedV6 = [];
            AddFamily(config, all, own, deviceIndexV6, isOnLink, ipv6: true, output, programmedV6);
            programmedV6.ExceptWith(programmedV4!);
            peers += programmedV6.Count;
        }

        return new DesiredState(routes, neighbours, fdb, skipped) { PeerCount = peers };
    }

    private sealed record Output(List<RouteEntry> Routes, List<NeighbourEntry> Neighbours, List<FdbEntry> Fdb, List<SkippedLease> Skipped);

    /// <summary>The entries of one address family: IPv4 on <paramref name="deviceIndex"/>, or the IPv6 halves.</summary>
    private static void AddFamily(
        NetworkConfig config,
        IEnumerable<Lease> leases,
        SubnetKey own,
        int deviceIndex,
        Func<IPAddress, bool>? isOnLink,
        bool ipv6,
        Output output,
        HashSet<SubnetKey>? programmed)
    {
        AddressFamily family = ipv6 ? AddressFamily.InterNetworkV6 : AddressFamily.InterNetwork;
        IPNetwork ownSubnet = ipv6 ? own.IPv6!.Value : own.IPv4;
        var macOwners = new Dictionary<MacAddress, (IPAddress PublicIP, SubnetKey Subnet)>();

        // Leases are visited by start address, so a lease overlaps an earlier, programmed one exactly when it
        // starts at or before the furthest end programmed so far: one comparison instead of a scan.
        IPNetwork? furthest = null;
        UInt128 furthestEnd = 0;

        IEnumerable<Lease> visited = ipv6
            ? leases.Where(l => l.Subnet.IPv6 is not null).OrderBy(l => IPAddressMath.First(l.Subnet.IPv6!.Value))
            : leases.OrderBy(l => IPAddressMath.First(l.Subnet.IPv4));
        foreach (Lease lease in visited)
        {
            IPNetwork subnet = ipv6 ? lease.Subnet.IPv6!.Value : lease.Subnet.IPv4;
            if (IPAddressMath.Overlaps(subnet, ownSubnet))
            {
                if (lease.Subnet != own)
                {
                    output.Skipped.Add(new(lease.Subnet, $"overlaps this node's own {(ipv6 ? "IPv6 " : "")}subnet {ownSubnet}", family));
                }

                continue;
            }

            string? problem = ipv6 ? ProblemV6(config, lease, out byte[] macBytes) : Problem(config, lease, out macBytes);
            if (problem is { } reason)
            {
                output.Skipped.Add(new(lease.Subnet, reason, family));
                continue;
            }

            if (furthest is { } holder && IPAddressMath.First(subnet) <= furthestEnd)
            {
                output.Skipped.Add(new(lease.Subnet, $"overlaps the lease {holder}, which is programmed instead", family));
                continue;
            }

            IPAddress publicIP = ipv6 ? lease.Attributes.PublicAddressV6! : lease.Attributes.PublicAddress!;
            bool direct = config.Backend.DirectRouting && isOnLink is not null && isOnLink(publicIP);
            MacAddress mac = MacAddress.FromBytes(macBytes);
            bool newMac = true;
            if (!direct && macOwners.TryGetValue(mac, out var owner))
            {
                // One VTEP MAC forwards to one node. The same node may hold two leases for a while (an old one
                // not yet expired): both subnets go to it. A different node claiming the MAC is a conflict.
                if (!owner.PublicIP.Equals(publicIP))
                {
                    string which = ipv6 ? "BackendV6Data.VtepMAC" : "VtepMAC";
                    output.Skipped.Add(new(lease.Subnet, $"has {which} {mac}, which the lease {owner.Subnet} at {owner.PublicIP} already uses", family));
                    continue;
                }

                newMac = false;
            }

            UInt128 end = IPAddressMath.Last(subnet);
            if (furthest is null || end > furthestEnd)
            {
                furthest = subnet;
                furthestEnd = end;
            }

            programmed?.Add(lease.Subnet);
            if (direct)
            {
                output.Routes.Add(RouteEntry.ViaGateway(subnet, publicIP));
                continue;
            }

            if (newMac)
            {
                macOwners[mac] = (publicIP, lease.Subnet);
                output.Fdb.Add(new FdbEntry(deviceIndex, mac, publicIP));
            }

            output.Neighbours.Add(new NeighbourEntry(deviceIndex, subnet.BaseAddress, mac));
            output.Routes.Add(RouteEntry.ViaGateway(subnet, subnet.BaseAddress, deviceIndex, onLink: true));
        }
    }

    /// <summary>Why a lease cannot be programmed at all, or null; <paramref name="mac"/> is its VTEP MAC when it can.</summary>
    internal static string? Problem(NetworkConfig config, Lease lease, out byte[] mac)
    {
        mac = [];
        IPNetwork subnet = lease.Subnet.IPv4;
        if (!IPAddressMath.Covers(config.Network, subnet))
        {
            return $"lies outside the network {config.Network}";
        }

        if (!string.Equals(lease.Attributes.BackendType, BackendConfig.VxlanType, StringComparison.OrdinalIgnoreCase))
        {
            return $"has backend type '{lease.Attributes.BackendType}', not vxlan";
        }

        if (lease.Attributes.BackendData is not { } data || !VtepMac.TryParse(data.VtepMac, out mac))
        {
            return $"has no valid VtepMAC ('{lease.Attributes.BackendData?.VtepMac}')";
        }

        if (data.Vni != 0 && data.Vni != config.Backend.Vni)
        {
            return $"is on VNI {data.Vni}, this network uses {config.Backend.Vni}";
        }

        return lease.Attributes.PublicAddress is null ? $"has no usable PublicIP ('{lease.Attributes.PublicIP}')" : null;
    }

    /// <summary>
    /// Why a lease's IPv6 half cannot be programmed, or null; <paramref name="mac"/> is its BackendV6Data VTEP MAC
    /// when it can. Call only for a lease with an IPv6 subnet in a dual-stack network.
    /// </summary>
    internal static string? ProblemV6(NetworkConfig config, Lease lease, out byte[] mac)
    {
        mac = [];
        IPNetwork subnet = lease.Subnet.IPv6!.Value;
        if (config.IPv6 is not { } v6 || !IPAddressMath.Covers(v6.Network, subnet))
        {
            return $"its IPv6 subnet {subnet} lies outside the IPv6 network {config.IPv6?.Network.ToString() ?? "(none)"}";
        }

        if (!string.Equals(lease.Attributes.BackendType, BackendConfig.VxlanType, StringComparison.OrdinalIgnoreCase))
        {
            return $"has backend type '{lease.Attributes.BackendType}', not vxlan";
        }

        if (lease.Attributes.BackendV6Data is not { } data || !VtepMac.TryParse(data.VtepMac, out mac))
        {
            return $"has no valid BackendV6Data.VtepMAC ('{lease.Attributes.BackendV6Data?.VtepMac}') for its IPv6 subnet {subnet}";
        }

        if (data.Vni != 0 && data.Vni != config.Backend.Vni)
        {
            return $"its BackendV6Data is on VNI {data.Vni}, this network uses {config.Backend.Vni}";
        }

        return lease.Attributes.PublicAddressV6 is null ? $"has no usable PublicIPv6 ('{lease.Attributes.PublicIPv6}') for its IPv6 subnet {subnet}" : null;
    }
}
