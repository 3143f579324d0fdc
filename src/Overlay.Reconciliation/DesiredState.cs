using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;
using Overlay.Core.Leases;
using Overlay.Netlink;

namespace Overlay.Reconciliation;

/// <summary>
/// A lease (or, in a dual-stack network, one half of it) that cannot be programmed, and why. A skipped lease is
/// still counted as taken by the allocator. <paramref name="Family"/> says which half: IPv6 means only the lease's
/// IPv6 entries are left out, and its IPv4 part is judged on its own. <paramref name="AwaitingNode"/>: a reservation
/// made ahead of its node (<c>overlayctl leases reserve</c> without <c>--vtep-mac</c>) has no backend data until
/// overlayd runs there and writes its own; that is normal, not a fault.
/// </summary>
public sealed record SkippedLease(SubnetKey Subnet, string Reason, AddressFamily Family = AddressFamily.InterNetwork, bool AwaitingNode = false);

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
/// BackendV6Data.VtepMAC and PublicIPv6, on flannel-v6.VNI: each <see cref="VxlanFamily"/> reads its own half of a
/// lease. The halves are judged separately: a bad IPv6 half does not keep a good IPv4 half out of the kernel, nor
/// the other way round.
/// </summary>
public static class DesiredStateBuilder
{
    /// <param name="families">
    /// The node's families as ensured (device index and all), IPv4 first; a family in which this node's own lease
    /// has no subnet (an IPv4-only lease in a dual-stack network) is left out.
    /// </param>
    public static DesiredState Build(
        IReadOnlyList<VxlanFamily> families,
        IEnumerable<Lease> leases,
        SubnetKey own,
        Func<IPAddress, bool>? isOnLink = null)
    {
        var routes = new List<RouteEntry>();
        var neighbours = new List<NeighbourEntry>();
        var fdb = new List<FdbEntry>();
        var skipped = new List<SkippedLease>();
        var output = new Output(routes, neighbours, fdb, skipped);

        List<(VxlanFamily Family, IPNetwork OwnSubnet)> built = [];
        foreach (VxlanFamily family in families)
        {
            if (family.SubnetOf(own) is { } ownSubnet)
            {
                built.Add((family, ownSubnet));
            }
        }

        // One family: a peer is a route. More: a peer is a lease with at least one half programmed.
        bool several = built.Count > 1;
        IEnumerable<Lease> all = several ? leases as IReadOnlyCollection<Lease> ?? leases.ToList() : leases;
        HashSet<SubnetKey>? programmed = several ? [] : null;
        foreach ((VxlanFamily family, IPNetwork ownSubnet) in built)
        {
            AddFamily(family, all, own, ownSubnet, isOnLink, output, programmed);
        }

        return new DesiredState(routes, neighbours, fdb, skipped) { PeerCount = programmed?.Count ?? routes.Count };
    }

    private sealed record Output(List<RouteEntry> Routes, List<NeighbourEntry> Neighbours, List<FdbEntry> Fdb, List<SkippedLease> Skipped);

    /// <summary>The entries of one address family, on its device.</summary>
    private static void AddFamily(
        VxlanFamily family,
        IEnumerable<Lease> leases,
        SubnetKey own,
        IPNetwork ownSubnet,
        Func<IPAddress, bool>? isOnLink,
        Output output,
        HashSet<SubnetKey>? programmed)
    {
        int deviceIndex = family.DeviceIndex;
        AddressFamily addressFamily = family.AddressFamily;
        var macOwners = new Dictionary<MacAddress, (IPAddress PublicIP, SubnetKey Subnet)>();

        // Leases are visited by start address, so a lease overlaps an earlier, programmed one exactly when it
        // starts at or before the furthest end programmed so far: one comparison instead of a scan.
        IPNetwork? furthest = null;
        UInt128 furthestEnd = 0;

        IEnumerable<Lease> visited = family.IsIPv6
            ? leases.Where(l => l.Subnet.IPv6 is not null).OrderBy(l => IPAddressMath.First(l.Subnet.IPv6!.Value))
            : leases.OrderBy(l => IPAddressMath.First(l.Subnet.IPv4));
        foreach (Lease lease in visited)
        {
            IPNetwork subnet = family.SubnetOf(lease.Subnet)!.Value;
            if (IPAddressMath.Overlaps(subnet, ownSubnet))
            {
                if (lease.Subnet != own)
                {
                    output.Skipped.Add(new(lease.Subnet, family.OverlapsOwnSubnet(ownSubnet), addressFamily));
                }

                continue;
            }

            if (family.Problem(lease, out byte[] macBytes) is { } reason)
            {
                output.Skipped.Add(family.AwaitsItsNode(lease)
                    ? new(lease.Subnet, family.AwaitingNodeReason(lease), addressFamily, AwaitingNode: true)
                    : new(lease.Subnet, reason, addressFamily));
                continue;
            }

            if (furthest is { } holder && IPAddressMath.First(subnet) <= furthestEnd)
            {
                output.Skipped.Add(new(lease.Subnet, $"overlaps the lease {holder}, which is programmed instead", addressFamily));
                continue;
            }

            IPAddress publicIP = family.PublicAddressOf(lease)!;
            bool direct = family.DirectRouting && isOnLink is not null && isOnLink(publicIP);
            MacAddress mac = MacAddress.FromBytes(macBytes);
            bool newMac = true;
            if (!direct && macOwners.TryGetValue(mac, out var owner))
            {
                // One VTEP MAC forwards to one node. The same node may hold two leases for a while (an old one
                // not yet expired): both subnets go to it. A different node claiming the MAC is a conflict.
                if (!owner.PublicIP.Equals(publicIP))
                {
                    output.Skipped.Add(new(lease.Subnet, $"has {family.VtepMacField} {mac}, which the lease {owner.Subnet} at {owner.PublicIP} already uses", addressFamily));
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
}
