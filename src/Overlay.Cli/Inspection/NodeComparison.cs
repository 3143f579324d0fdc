using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Cli.Inspection;

/// <summary>How a kernel entry compares with what etcd calls for.</summary>
internal enum EntryStatus
{
    Ok,

    /// <summary>etcd calls for it and the kernel lacks it.</summary>
    Missing,

    /// <summary>The kernel holds it for the right key (destination, address, MAC) with the wrong value.</summary>
    Stale,

    /// <summary>overlayd's kind of entry (on its device, in the pod network) that no lease calls for.</summary>
    Foreign,
}

internal enum EntryKind
{
    Route,
    Neighbour,
    Fdb,
}

/// <summary>One entry: what overlayd would program (null for a foreign one) and what the kernel has (null when nothing).</summary>
internal sealed record EntryCheck(EntryKind Kind, EntryStatus Status, string? Expected, string? Actual, SubnetKey? Lease);

/// <summary>A VXLAN device as the kernel has it, and what is wrong with it for this node's lease and the config.</summary>
internal sealed record DeviceCheck(VxlanFamily Family, LinkInfo? Link, IReadOnlyList<string> Addresses, IReadOnlyList<string> Problems)
{
    public bool Present => Link is not null;
}

internal enum PeerState
{
    Ok,
    Broken,

    /// <summary>overlayd leaves the lease out (a bad value, an overlap, another backend): nothing to check.</summary>
    Skipped,
}

/// <summary>One remote lease in one family: the three entries it needs (one route with DirectRouting on the same link).</summary>
internal sealed record PeerCheck(Lease Lease, AddressFamily Family, PeerState State, string? Reason, EntryCheck? Route, EntryCheck? Neighbour, EntryCheck? Fdb)
{
    public IPNetwork Subnet => (Family == AddressFamily.InterNetworkV6 ? Lease.Subnet.IPv6 : Lease.Subnet.IPv4)!.Value;

    public IEnumerable<EntryCheck> Entries => new[] { Route, Neighbour, Fdb }.OfType<EntryCheck>();
}

/// <summary>What <c>overlayctl node status</c> found: the node's devices and lease, and every peer's entries.</summary>
internal sealed record NodeView(
    IReadOnlyList<DeviceCheck> Devices,
    Lease? Own,
    string OwnFoundBy,
    IReadOnlyList<string> Problems,
    IReadOnlyList<PeerCheck> Peers,
    IReadOnlyList<EntryCheck> Missing,
    IReadOnlyList<EntryCheck> Stale,
    IReadOnlyList<EntryCheck> Foreign)
{
    /// <summary>The kernel holds exactly what etcd calls for, on devices that are as they should be.</summary>
    public bool Matches => Problems.Count == 0 && Missing.Count == 0 && Stale.Count == 0 && Foreign.Count == 0;

    public PeerCheck? PeerOf(SubnetKey subnet, AddressFamily family) =>
        Peers.FirstOrDefault(p => p.Lease.Subnet == subnet && p.Family == family);
}

/// <summary>
/// Compares a node's kernel with etcd, purely: the families of the config on the devices found, this node's lease,
/// then overlayd's own <see cref="DesiredStateBuilder"/> and <see cref="KernelDiff"/> (so the report says exactly
/// what overlayd would change), each change sorted into missing, stale or foreign and tied to its lease.
/// </summary>
internal static class NodeComparison
{
    public static NodeView Compare(NetworkConfig config, IReadOnlyList<Lease> leases, KernelSnapshot kernel, SubnetKey? named = null)
    {
        IReadOnlyList<VxlanFamily> families = VxlanFamily.Of(config);
        (Lease? own, string foundBy) = FindOwn(families, leases, kernel, named);
        var problems = new List<string>();
        if (own is null)
        {
            problems.Add(foundBy);
        }

        var devices = new List<DeviceCheck>();
        var built = new List<VxlanFamily>();
        foreach (VxlanFamily family in families)
        {
            DeviceCheck device = CheckDevice(config, family, kernel, own);
            devices.Add(device);
            problems.AddRange(device.Problems.Select(p => $"{family.DeviceName}: {p}"));
            if (own is not null && family.SubnetOf(own.Subnet) is not null && device.Link is { Kind: "vxlan" } link)
            {
                built.Add(family with { DeviceIndex = link.Index, DeviceMac = link.Mac ?? default, Vxlan = link.Vxlan, Mtu = link.Mtu });
            }
        }

        if (own is null || built.Count == 0)
        {
            return new NodeView(devices, own, foundBy, problems, [], [], [], []);
        }

        Func<IPAddress, bool>? isOnLink = built.Any(f => f.DirectRouting)
            ? address => kernel.Lookups.TryGetValue(address, out RouteLookup? route) && route.Gateway is null
                && built.Any(f => f.Vxlan?.UnderlayIndex is { } underlay && underlay == route.InterfaceIndex)
            : null;
        DesiredState desired = DesiredStateBuilder.Build(built, leases, own.Subnet, isOnLink);
        HashSet<int> deviceIndexes = built.Select(f => f.DeviceIndex).ToHashSet();
        var actual = new ActualState(
            kernel.Routes.Where(r => r.Table == 254).ToList(),
            kernel.Neighbours.Where(n => deviceIndexes.Contains(n.InterfaceIndex)).ToList(),
            kernel.Fdb.Where(f => deviceIndexes.Contains(f.InterfaceIndex)).ToList());
        List<KernelDiff.Scope> scopes = built.Select(f => f.Scope(f.SubnetOf(own.Subnet)!.Value)).ToList();
        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(desired, actual, scopes);

        var owners = LeaseOfEntries(built, leases, desired);
        var byEntry = new Dictionary<KernelEntry, EntryCheck>();
        var missing = new List<EntryCheck>();
        var stale = new List<EntryCheck>();
        var foreign = new List<EntryCheck>();
        var replacedFdb = changes.Where(c => c.Operation != ChangeOperation.Delete).Select(c => c.Entry).OfType<FdbEntry>().Select(f => (f.InterfaceIndex, f.Mac)).ToHashSet();
        var wantedFdb = desired.Fdb.Select(f => (f.InterfaceIndex, f.Mac)).ToHashSet();
        foreach (NetlinkChange change in changes)
        {
            if (change.Operation != ChangeOperation.Delete)
            {
                if (change.Entry is FdbEntry fdb && actual.Fdb.Any(f => f.InterfaceIndex == fdb.InterfaceIndex && f.Mac == fdb.Mac && Equals(f.Destination, fdb.Destination) && f.State.HasFlag(NeighbourState.Permanent)))
                {
                    // Added by hand with `bridge fdb add ... permanent` (NOARP too): overlayd rewrites it once, but it forwards right.
                    continue;
                }

                EntryCheck check = Wanted(change.Entry, actual, scopes, kernel, owners.GetValueOrDefault(change.Entry));
                byEntry[change.Entry] = check;
                (check.Status == EntryStatus.Stale ? stale : missing).Add(check);
            }
            else if (change.Entry is FdbEntry extra && wantedFdb.Contains((extra.InterfaceIndex, extra.Mac)))
            {
                // A peer's MAC with a wrong (or an extra) destination: stale, counted once with its replacement.
                if (!replacedFdb.Contains((extra.InterfaceIndex, extra.Mac)))
                {
                    FdbEntry wanted = desired.Fdb.First(f => f.InterfaceIndex == extra.InterfaceIndex && f.Mac == extra.Mac);
                    var check = new EntryCheck(EntryKind.Fdb, EntryStatus.Stale, Describe(wanted, kernel), Describe(extra, kernel), owners.GetValueOrDefault(wanted));
                    byEntry[wanted] = check;
                    stale.Add(check);
                }
            }
            else
            {
                foreign.Add(new EntryCheck(KindOf(change.Entry), EntryStatus.Foreign, null, Describe(change.Entry, kernel), null));
            }
        }

        List<PeerCheck> peers = Peers(built, leases, own, desired, kernel, byEntry);
        return new NodeView(devices, own, foundBy, problems, peers, [.. missing.OrderBy(e => e.Kind)], [.. stale.OrderBy(e => e.Kind)], [.. foreign.OrderBy(e => e.Kind)]);
    }

    /// <summary>
    /// This node's lease: the one named, else the one whose subnet address is on the device (overlayd puts it there),
    /// whose VtepMAC is the device's MAC, whose PublicIP is the device's local address, or is any address of the node.
    /// </summary>
    public static (Lease? Own, string FoundBy) FindOwn(IReadOnlyList<VxlanFamily> families, IReadOnlyList<Lease> leases, KernelSnapshot kernel, SubnetKey? named)
    {
        if (named is { } subnet)
        {
            return leases.FirstOrDefault(l => l.Subnet == subnet) is { } lease
                ? (lease, "named by --subnet")
                : (null, $"no lease {subnet} in etcd (named by --subnet)");
        }

        VxlanFamily v4 = families[0];
        LinkInfo? device = kernel.Link(v4.DeviceName);
        if (device is not null)
        {
            var onDevice = kernel.Addresses.Where(a => a.InterfaceIndex == device.Index).Select(a => a.Address).ToHashSet();
            if (Single(leases.Where(l => onDevice.Contains(l.Subnet.IPv4.BaseAddress))) is { } byAddress)
            {
                return (byAddress, $"its subnet address {byAddress.Subnet.IPv4.BaseAddress} is on {v4.DeviceName}");
            }

            if (device.Mac is { } mac && Single(leases.Where(l => MacAddress.TryParse(l.Attributes.BackendData?.VtepMac, out MacAddress m) && m == mac)) is { } byMac)
            {
                return (byMac, $"its VtepMAC is {v4.DeviceName}'s MAC");
            }

            if (device.Vxlan?.Local is { } local && Single(leases.Where(l => local.Equals(l.Attributes.PublicAddress))) is { } byLocal)
            {
                return (byLocal, $"its PublicIP is {v4.DeviceName}'s local address");
            }
        }

        var addresses = kernel.Addresses.Select(a => a.Address).ToHashSet();
        if (Single(leases.Where(l => l.Attributes.PublicAddress is { } p && addresses.Contains(p))) is { } byNodeAddress)
        {
            return (byNodeAddress, "its PublicIP is an address of this node");
        }

        string seen = device is null
            ? $"no {v4.DeviceName} here, and no lease's PublicIP is an address of this node"
            : $"no lease has {v4.DeviceName}'s address, MAC {device.Mac?.ToString() ?? "none"} or local address {device.Vxlan?.Local?.ToString() ?? "none"}, and no lease's PublicIP is an address of this node";
        return (null, $"this node's lease is not in etcd: {seen}; name it with --subnet");
    }

    /// <summary>A lease as people write it: <c>198.18.34.0/24</c>, or <c>198.18.34.0/24&amp;2001:db8:0:22::/64</c> in dual stack.</summary>
    public static string LeaseName(SubnetKey key) => key.IPv6 is { } v6 ? $"{key.IPv4}&{v6}" : key.IPv4.ToString();

    private static Lease? Single(IEnumerable<Lease> matches)
    {
        List<Lease> list = matches.Take(2).ToList();
        return list.Count == 1 ? list[0] : null;
    }

    private static DeviceCheck CheckDevice(NetworkConfig config, VxlanFamily family, KernelSnapshot kernel, Lease? own)
    {
        LinkInfo? link = kernel.Link(family.DeviceName);
        IPNetwork? ownSubnet = own is null ? null : family.SubnetOf(own.Subnet);
        var problems = new List<string>();
        if (link is null)
        {
            if (own is null || ownSubnet is not null)
            {
                problems.Add("missing (overlayd makes it once it holds a lease)");
            }

            return new DeviceCheck(family, null, [], problems);
        }

        List<string> addresses = kernel.Addresses.Where(a => a.InterfaceIndex == link.Index)
            .Select(a => $"{a.Address}/{a.PrefixLength.ToString(CultureInfo.InvariantCulture)}").ToList();
        if (link.Kind != "vxlan" || link.Vxlan is not { } vxlan)
        {
            problems.Add($"is a {link.Kind ?? "non-vxlan"} device, not vxlan");
            return new DeviceCheck(family, link, addresses, problems);
        }

        if (vxlan.Vni != (uint)family.Vni)
        {
            problems.Add($"has VNI {vxlan.Vni}; the network config says {family.Vni}");
        }

        if (vxlan.Port != config.Backend.EffectivePort)
        {
            problems.Add($"uses UDP port {vxlan.Port}; the network config says {config.Backend.EffectivePort}");
        }

        if (!link.IsUp)
        {
            problems.Add("is down");
        }

        if (config.Backend.Mtu > 0 && link.Mtu != config.Backend.Mtu)
        {
            problems.Add($"has MTU {link.Mtu}; the network config says {config.Backend.Mtu}");
        }

        if (own is not null && ownSubnet is { } subnet)
        {
            string? advertised = family.BackendDataOf(own)?.VtepMac;
            if (!MacAddress.TryParse(advertised, out MacAddress leaseMac) || link.Mac != leaseMac)
            {
                problems.Add($"has MAC {link.Mac?.ToString() ?? "none"}, but this node's lease advertises {family.VtepMacField} {advertised ?? "none"}: peers would send to the wrong MAC");
            }

            if (!kernel.Addresses.Any(a => a.InterfaceIndex == link.Index && a.Address.Equals(subnet.BaseAddress) && a.PrefixLength == family.HostPrefixLength))
            {
                problems.Add($"lacks the address {subnet.BaseAddress}/{family.HostPrefixLength.ToString(CultureInfo.InvariantCulture)} of this node's subnet");
            }
        }

        return new DeviceCheck(family, link, addresses, problems);
    }

    /// <summary>The lease each desired entry is there for (an FDB entry shared by two leases of one node: the first).</summary>
    private static Dictionary<KernelEntry, SubnetKey> LeaseOfEntries(IReadOnlyList<VxlanFamily> families, IReadOnlyList<Lease> leases, DesiredState desired)
    {
        var owners = new Dictionary<KernelEntry, SubnetKey>();
        foreach (VxlanFamily family in families)
        {
            foreach (Lease lease in leases)
            {
                if (family.SubnetOf(lease.Subnet) is not { } subnet)
                {
                    continue;
                }

                foreach (RouteEntry route in desired.Routes.Where(r => r.Destination == subnet))
                {
                    owners.TryAdd(route, lease.Subnet);
                }

                foreach (NeighbourEntry neighbour in desired.Neighbours.Where(n => n.InterfaceIndex == family.DeviceIndex && n.Address.Equals(subnet.BaseAddress)))
                {
                    owners.TryAdd(neighbour, lease.Subnet);
                    foreach (FdbEntry fdb in desired.Fdb.Where(f => f.InterfaceIndex == family.DeviceIndex && neighbour.Mac == f.Mac))
                    {
                        owners.TryAdd(fdb, lease.Subnet);
                    }
                }
            }
        }

        return owners;
    }

    /// <summary>A desired entry KernelDiff would write: missing, or stale when the kernel has that key with another value.</summary>
    private static EntryCheck Wanted(KernelEntry entry, ActualState actual, IReadOnlyList<KernelDiff.Scope> scopes, KernelSnapshot kernel, SubnetKey? lease)
    {
        switch (entry)
        {
            case RouteEntry route:
            {
                RouteEntry? ours = actual.Routes.FirstOrDefault(r => r.Destination == route.Destination && KernelDiff.Owns(r, scopes));
                RouteEntry? other = ours ?? actual.Routes.FirstOrDefault(r => r.Destination == route.Destination);
                return new EntryCheck(EntryKind.Route, ours is null ? EntryStatus.Missing : EntryStatus.Stale, Describe(route, kernel), other is null ? null : Describe(other, kernel), lease);
            }

            case NeighbourEntry neighbour:
            {
                NeighbourEntry? have = actual.Neighbours.FirstOrDefault(n => n.InterfaceIndex == neighbour.InterfaceIndex && n.Address.Equals(neighbour.Address));
                return new EntryCheck(EntryKind.Neighbour, have is null ? EntryStatus.Missing : EntryStatus.Stale, Describe(neighbour, kernel), have is null ? null : Describe(have, kernel), lease);
            }

            case FdbEntry fdb:
            {
                List<FdbEntry> have = actual.Fdb.Where(f => f.InterfaceIndex == fdb.InterfaceIndex && f.Mac == fdb.Mac).ToList();
                return new EntryCheck(EntryKind.Fdb, have.Count == 0 ? EntryStatus.Missing : EntryStatus.Stale, Describe(fdb, kernel), have.Count == 0 ? null : string.Join("; ", have.Select(h => Describe(h, kernel))), lease);
            }

            default:
                throw new ArgumentException($"not a peer entry: {entry}", nameof(entry));
        }
    }

    private static List<PeerCheck> Peers(IReadOnlyList<VxlanFamily> families, IReadOnlyList<Lease> leases, Lease own, DesiredState desired, KernelSnapshot kernel, Dictionary<KernelEntry, EntryCheck> problems)
    {
        var peers = new List<PeerCheck>();
        foreach (Lease lease in Output.LeaseView.Sorted(leases))
        {
            if (lease.Subnet == own.Subnet)
            {
                continue;
            }

            foreach (VxlanFamily family in families)
            {
                if (family.SubnetOf(lease.Subnet) is not { } subnet)
                {
                    continue;
                }

                if (desired.Skipped.FirstOrDefault(s => s.Subnet == lease.Subnet && s.Family == family.AddressFamily) is { } skip)
                {
                    peers.Add(new PeerCheck(lease, family.AddressFamily, PeerState.Skipped, skip.Reason, null, null, null));
                    continue;
                }

                EntryCheck? Check(KernelEntry? wanted) => wanted is null
                    ? null
                    : problems.GetValueOrDefault(wanted) ?? new EntryCheck(KindOf(wanted), EntryStatus.Ok, Describe(wanted, kernel), Describe(wanted, kernel), lease.Subnet);

                RouteEntry? route = desired.Routes.FirstOrDefault(r => r.Destination == subnet);
                NeighbourEntry? neighbour = desired.Neighbours.FirstOrDefault(n => n.InterfaceIndex == family.DeviceIndex && n.Address.Equals(subnet.BaseAddress));
                FdbEntry? fdb = neighbour is null ? null : desired.Fdb.FirstOrDefault(f => f.InterfaceIndex == family.DeviceIndex && f.Mac == neighbour.Mac);
                var peer = new PeerCheck(lease, family.AddressFamily, PeerState.Ok, null, Check(route), Check(neighbour), Check(fdb));
                peers.Add(peer.Entries.Any(e => e.Status != EntryStatus.Ok) ? peer with { State = PeerState.Broken } : peer);
            }
        }

        return peers;
    }

    private static EntryKind KindOf(KernelEntry entry) => entry switch
    {
        RouteEntry => EntryKind.Route,
        NeighbourEntry => EntryKind.Neighbour,
        _ => EntryKind.Fdb,
    };

    /// <summary>An entry in iproute2's words, e.g. <c>198.18.2.0/24 via 198.18.2.0 dev flannel.1 onlink</c>.</summary>
    public static string Describe(KernelEntry entry, KernelSnapshot kernel) => entry switch
    {
        RouteEntry r => $"{r.Destination}{(r.Gateway is null ? "" : " via " + r.Gateway)}{(r.InterfaceIndex == 0 ? "" : " dev " + kernel.DeviceName(r.InterfaceIndex))}{(r.OnLink ? " onlink" : "")}{(r.Table == 254 ? "" : " table " + r.Table.ToString(CultureInfo.InvariantCulture))}",
        NeighbourEntry n => $"{n.Address} lladdr {n.Mac?.ToString() ?? "none"} dev {kernel.DeviceName(n.InterfaceIndex)} {StateName(n.State)}",
        FdbEntry f => $"{f.Mac} dev {kernel.DeviceName(f.InterfaceIndex)} dst {f.Destination?.ToString() ?? "none"} {(f.Flags.HasFlag(FdbFlags.Self) ? "self " : "")}{StateName(f.State).ToLowerInvariant()}",
        _ => entry.ToString(),
    };

    private static string StateName(NeighbourState state) =>
        state == NeighbourState.None ? "NONE" : state.ToString().ToUpperInvariant().Replace(", ", ",", StringComparison.Ordinal);
}
