using System.Net;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Netlink;

namespace Overlay.Daemon.Reconciliation;

/// <summary>A lease that cannot be programmed, and why (it is still counted as taken by the allocator).</summary>
public sealed record SkippedLease(SubnetKey Subnet, string Reason);

/// <summary>What the kernel should hold for the remote nodes: per peer a neighbour, an FDB entry and a route (or one direct route).</summary>
public sealed record DesiredState(
    IReadOnlyList<RouteEntry> Routes,
    IReadOnlyList<NeighbourEntry> Neighbours,
    IReadOnlyList<FdbEntry> Fdb,
    IReadOnlyList<SkippedLease> Skipped)
{
    public int PeerCount => Routes.Count;
}

/// <summary>
/// Computes the desired kernel state from the lease set, purely. For each remote vxlan lease (flannel's recipe):
/// neighbour <c>subnet-address lladdr VtepMAC nud permanent</c>, FDB <c>VtepMAC dst PublicIP self permanent</c>,
/// route <c>subnet via subnet-address dev flannel.VNI onlink</c>; with DirectRouting and a peer on the same link,
/// only <c>subnet via PublicIP</c>.
/// </summary>
public static class DesiredStateBuilder
{
    public static DesiredState Build(
        NetworkConfig config,
        IEnumerable<Lease> leases,
        SubnetKey own,
        int deviceIndex,
        Func<IPAddress, bool>? isOnLink = null)
    {
        var routes = new List<RouteEntry>();
        var neighbours = new List<NeighbourEntry>();
        var fdb = new List<FdbEntry>();
        var skipped = new List<SkippedLease>();
        var macOwners = new Dictionary<MacAddress, (IPAddress PublicIP, SubnetKey Subnet)>();

        // Leases are visited by start address, so a lease overlaps an earlier, programmed one exactly when it
        // starts at or before the furthest end programmed so far: one comparison instead of a scan.
        IPNetwork? furthest = null;
        UInt128 furthestEnd = 0;

        foreach (Lease lease in leases.OrderBy(l => IPAddressMath.First(l.Subnet.IPv4)))
        {
            IPNetwork subnet = lease.Subnet.IPv4;
            if (IPAddressMath.Overlaps(subnet, own.IPv4))
            {
                if (lease.Subnet != own)
                {
                    skipped.Add(new(lease.Subnet, $"overlaps this node's own subnet {own.IPv4}"));
                }

                continue;
            }

            if (Problem(config, lease, out byte[] macBytes) is { } reason)
            {
                skipped.Add(new(lease.Subnet, reason));
                continue;
            }

            if (furthest is { } holder && IPAddressMath.First(subnet) <= furthestEnd)
            {
                skipped.Add(new(lease.Subnet, $"overlaps the lease {holder}, which is programmed instead"));
                continue;
            }

            IPAddress publicIP = lease.Attributes.PublicAddress!;
            bool direct = config.Backend.DirectRouting && isOnLink is not null && isOnLink(publicIP);
            MacAddress mac = MacAddress.FromBytes(macBytes);
            bool newMac = true;
            if (!direct && macOwners.TryGetValue(mac, out var owner))
            {
                // One VTEP MAC forwards to one node. The same node may hold two leases for a while (an old one
                // not yet expired): both subnets go to it. A different node claiming the MAC is a conflict.
                if (!owner.PublicIP.Equals(publicIP))
                {
                    skipped.Add(new(lease.Subnet, $"has VtepMAC {mac}, which the lease {owner.Subnet} at {owner.PublicIP} already uses"));
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

            if (direct)
            {
                routes.Add(RouteEntry.ViaGateway(subnet, publicIP));
                continue;
            }

            if (newMac)
            {
                macOwners[mac] = (publicIP, lease.Subnet);
                fdb.Add(new FdbEntry(deviceIndex, mac, publicIP));
            }

            neighbours.Add(new NeighbourEntry(deviceIndex, subnet.BaseAddress, mac));
            routes.Add(RouteEntry.ViaGateway(subnet, subnet.BaseAddress, deviceIndex, onLink: true));
        }

        return new DesiredState(routes, neighbours, fdb, skipped);
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
}
