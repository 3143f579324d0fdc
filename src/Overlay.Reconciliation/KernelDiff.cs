using System.Net;
using Overlay.Core.Addressing;
using Overlay.Netlink;

namespace Overlay.Reconciliation;

/// <summary>What the kernel holds now, limited to what overlayd owns (see <see cref="KernelDiff.Owns(RouteEntry, IReadOnlyList{KernelDiff.Scope})"/>).</summary>
public sealed record ActualState(IReadOnlyList<RouteEntry> Routes, IReadOnlyList<NeighbourEntry> Neighbours, IReadOnlyList<FdbEntry> Fdb);

/// <summary>
/// The minimal set of changes that makes the kernel equal to the desired state, in an order that never
/// leaves a route pointing at a peer without its neighbour and FDB entry: stale routes go first, then
/// neighbours and FDB entries are written, then routes, then stale neighbours and FDB entries go.
/// Only entries overlayd owns are ever removed: on its device (or, for direct routes, via a gateway) and
/// inside the pod network, never the node's own subnet. There is one scope per <see cref="VxlanFamily"/> (in a
/// dual-stack network also the flannel-v6 device, the IPv6 pod network and own IPv6 subnet), and all devices'
/// entries are diffed together.
/// </summary>
public static class KernelDiff
{
    /// <summary>Where overlayd's entries of one family live (see <see cref="VxlanFamily.Scope"/>).</summary>
    /// <param name="DirectRouting">Whether routes via a node's address (not on the device) are overlayd's too.</param>
    public sealed record Scope(IPNetwork PodNetwork, IPNetwork OwnSubnet, int DeviceIndex, bool DirectRouting = false);

    /// <param name="scopes">One per family; an entry is overlayd's when it lies in any of them.</param>
    public static IReadOnlyList<NetlinkChange> Compute(DesiredState desired, ActualState actual, params IReadOnlyList<Scope> scopes)
    {
        var changes = new List<NetlinkChange>();

        var wantedRoutes = desired.Routes.ToDictionary(r => r.Destination);
        var haveRoutes = new Dictionary<IPNetwork, RouteEntry>();
        foreach (RouteEntry route in actual.Routes.Where(r => Owns(r, scopes)))
        {
            if (!wantedRoutes.ContainsKey(route.Destination))
            {
                changes.Add(new(ChangeOperation.Delete, route));
            }
            else
            {
                haveRoutes.TryAdd(route.Destination, route); // a differing one is replaced below
            }
        }

        var haveNeighbours = actual.Neighbours.Where(n => Owns(n, scopes)).GroupBy(n => n.Address).ToDictionary(g => g.Key, g => g.First());
        foreach (NeighbourEntry neighbour in desired.Neighbours)
        {
            if (!haveNeighbours.TryGetValue(neighbour.Address, out NeighbourEntry? have) || have.Mac != neighbour.Mac || have.State != NeighbourState.Permanent)
            {
                changes.Add(new(ChangeOperation.Replace, neighbour));
            }
        }

        // Keyed by device too: a lease may give both of its devices the same MAC.
        var wantedFdb = desired.Fdb.ToDictionary(f => (f.InterfaceIndex, f.Mac));
        var haveFdb = actual.Fdb.Where(f => Owns(f, scopes)).ToList();
        var haveFdbPairs = haveFdb.Select(h => (h.InterfaceIndex, h.Mac, h.Destination)).ToHashSet();
        foreach (FdbEntry entry in desired.Fdb)
        {
            if (!haveFdbPairs.Contains((entry.InterfaceIndex, entry.Mac, entry.Destination)))
            {
                changes.Add(new(ChangeOperation.Replace, entry));
            }
        }

        foreach (RouteEntry route in desired.Routes)
        {
            if (!haveRoutes.TryGetValue(route.Destination, out RouteEntry? have) || !SameRoute(route, have))
            {
                changes.Add(new(ChangeOperation.Replace, route));
            }
        }

        var wantedNeighbours = desired.Neighbours.Select(n => n.Address).ToHashSet();
        foreach (NeighbourEntry stale in haveNeighbours.Values.Where(n => !wantedNeighbours.Contains(n.Address)))
        {
            changes.Add(new(ChangeOperation.Delete, stale));
        }

        foreach (FdbEntry stale in haveFdb.Where(h => !wantedFdb.TryGetValue((h.InterfaceIndex, h.Mac), out FdbEntry? w) || !Equals(w.Destination, h.Destination)))
        {
            changes.Add(new(ChangeOperation.Delete, stale));
        }

        return changes;
    }

    /// <summary>
    /// A route is overlayd's when it is in the main table, its destination lies in the pod network but not in
    /// this node's subnet, and it is either on the VXLAN device or, with DirectRouting, a boot-protocol route via a
    /// gateway outside the pod network (a node's address). With DirectRouting on, such a route added by hand into
    /// the pod network is taken for overlayd's. Each family's routes are judged against that family's scope.
    /// </summary>
    public static bool Owns(RouteEntry route, params IReadOnlyList<Scope> scopes)
    {
        foreach (Scope scope in scopes)
        {
            if (OwnsInFamily(route, scope))
            {
                return true;
            }
        }

        return false;
    }

    public static bool Owns(NeighbourEntry neighbour, params IReadOnlyList<Scope> scopes)
    {
        foreach (Scope scope in scopes)
        {
            if (OwnsInFamily(neighbour, scope))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Permanent entries on the device(s); entries the kernel learned (Learning on) are left to age out.</summary>
    public static bool Owns(FdbEntry entry, params IReadOnlyList<Scope> scopes)
    {
        if (entry.State != NeighbourState.Permanent || entry.Destination is null || entry.Mac.IsZero)
        {
            return false;
        }

        foreach (Scope scope in scopes)
        {
            if (entry.InterfaceIndex == scope.DeviceIndex)
            {
                return true;
            }
        }

        return false;
    }

    private static bool OwnsInFamily(RouteEntry route, Scope scope) =>
        route.Table == 254
        && IPAddressMath.Covers(scope.PodNetwork, route.Destination)
        && !IPAddressMath.Overlaps(route.Destination, scope.OwnSubnet)
        && (route.InterfaceIndex == scope.DeviceIndex
            || (scope.DirectRouting && route.Gateway is not null && route.Protocol == 3 && !scope.PodNetwork.Contains(route.Gateway)));

    private static bool OwnsInFamily(NeighbourEntry neighbour, Scope scope) =>
        neighbour.InterfaceIndex == scope.DeviceIndex
        && neighbour.State == NeighbourState.Permanent
        && scope.PodNetwork.Contains(neighbour.Address);

    private static bool SameRoute(RouteEntry wanted, RouteEntry have) =>
        Equals(wanted.Gateway, have.Gateway)
        && (wanted.InterfaceIndex == 0 || wanted.InterfaceIndex == have.InterfaceIndex)
        && wanted.OnLink == have.OnLink;
}
