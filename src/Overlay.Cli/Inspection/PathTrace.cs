using System.Net;
using System.Net.Sockets;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Netlink;

namespace Overlay.Cli.Inspection;

internal enum EndKind
{
    /// <summary>An address in a lease's subnet.</summary>
    Pod,

    /// <summary>A node's PublicIP or PublicIPv6.</summary>
    Node,

    /// <summary>In the config's service network (a ClusterIP, or one no service holds).</summary>
    ClusterIP,

    /// <summary>Neither: outside the overlay.</summary>
    Other,
}

/// <summary>An end of a path: the address, and the lease (node) it belongs to.</summary>
internal sealed record TraceEnd(IPAddress Address, EndKind Kind, Lease? Lease, bool ThisNode)
{
    public IPNetwork? Subnet => Lease is null ? null : Address.AddressFamily == AddressFamily.InterNetworkV6 ? Lease.Subnet.IPv6 : Lease.Subnet.IPv4;

    public string? NodeAddress => Lease is null ? null : Address.AddressFamily == AddressFamily.InterNetworkV6 ? Lease.Attributes.PublicIPv6 : Lease.Attributes.PublicIP;

    public string? VtepMac => Lease is null ? null : (Address.AddressFamily == AddressFamily.InterNetworkV6 ? Lease.Attributes.BackendV6Data : Lease.Attributes.BackendData)?.VtepMac;
}

/// <summary>Where a path breaks: the step's name (device, lease, route, neighbour, fdb, kernel route, destination).</summary>
internal sealed record TracedPath(TraceEnd Destination, string? BreaksAt, IReadOnlyList<EntryCheck> Entries, string? KernelRoute, string Explanation)
{
    public bool Whole => BreaksAt is null;
}

/// <summary>
/// The path from this node to a destination, purely, from the <see cref="NodeView"/> of this node (the entries a
/// peer needs and how each compares) and the kernel's own route lookup: which lease owns each end, which of the
/// route, the neighbour and the FDB entry is not as it should be, and that in words.
/// </summary>
internal static class PathTrace
{
    public static TraceEnd Resolve(IPAddress address, NetworkConfig config, IReadOnlyList<Lease> leases, Lease? own)
    {
        bool v6 = address.AddressFamily == AddressFamily.InterNetworkV6;
        Lease? inSubnet = leases.FirstOrDefault(l => (v6 ? l.Subnet.IPv6 : l.Subnet.IPv4) is { } s && s.Contains(address));
        if (inSubnet is not null)
        {
            return new TraceEnd(address, EndKind.Pod, inSubnet, inSubnet.Subnet == own?.Subnet);
        }

        Lease? node = leases.FirstOrDefault(l => address.Equals(v6 ? l.Attributes.PublicAddressV6 : l.Attributes.PublicAddress));
        if (node is not null)
        {
            return new TraceEnd(address, EndKind.Node, node, node.Subnet == own?.Subnet);
        }

        bool service = (v6 ? config.ServiceIPv6Network : config.ServiceNetwork) is { } network && network.Contains(address);
        return new TraceEnd(address, service ? EndKind.ClusterIP : EndKind.Other, null, false);
    }

    /// <summary>The path from this node (the view's) to <paramref name="destination"/>, a pod or node address.</summary>
    public static TracedPath To(TraceEnd destination, NodeView view, KernelSnapshot kernel)
    {
        string? kernelRoute = KernelRoute(destination.Address, kernel);
        string sends = kernelRoute is null ? "the kernel has no route to it" : $"the kernel sends it {kernelRoute}";
        if (destination.Lease is null)
        {
            return new TracedPath(destination, "destination", [], kernelRoute,
                $"no lease in etcd holds {destination.Address}, and no node has it as its address: no node of the overlay owns it ({sends})");
        }

        if (destination.ThisNode && destination.Kind == EndKind.Pod)
        {
            // The node's pods hang off a local bridge (cni0) holding the subnet: the kernel reaches them without a gateway.
            RouteLookup? local = kernel.Lookups.GetValueOrDefault(destination.Address);
            return local is not null && local.Gateway is null
                ? new TracedPath(destination, null, [], kernelRoute,
                    $"{destination.Address} is on this node ({NodeComparison.LeaseName(destination.Lease.Subnet)}): it does not cross the overlay ({sends})")
                : new TracedPath(destination, "local bridge", [], kernelRoute,
                    $"{destination.Address} is in this node's subnet {destination.Subnet}, but {sends}: no local bridge (cni0) holds the subnet; does a pod run here?");
        }

        if (destination.ThisNode)
        {
            return new TracedPath(destination, null, [], kernelRoute, $"{destination.Address} is this node's own address ({sends})");
        }

        if (destination.Kind == EndKind.Node)
        {
            return kernelRoute is null
                ? new TracedPath(destination, "kernel route", [], null, $"{destination.Address} is node {destination.NodeAddress}'s own address, reached over the underlay, but the kernel has no route to it")
                : new TracedPath(destination, null, [], kernelRoute, $"{destination.Address} is node {destination.NodeAddress}'s own address: the underlay carries it, not the overlay ({sends})");
        }

        AddressFamily family = destination.Address.AddressFamily;
        DeviceCheck? device = view.Devices.FirstOrDefault(d => d.Family.AddressFamily == family);
        string node = $"node {destination.NodeAddress}";
        if (device is null || device.Problems.Count > 0 || view.Own is null)
        {
            string deviceName = device?.Family.DeviceName ?? "the VXLAN device";
            string why = view.Own is null ? view.OwnFoundBy : device is null ? "this network has no such family" : string.Join("; ", device.Problems);
            return new TracedPath(destination, "device", [], kernelRoute, $"{deviceName} on this node is not as it should be: {why}");
        }

        PeerCheck? peer = view.PeerOf(destination.Lease.Subnet, family);
        if (peer is null)
        {
            return new TracedPath(destination, "lease", [], kernelRoute, $"this node's lease has no subnet of that family, so it programs no path to {destination.Subnet}");
        }

        if (peer.State == PeerState.Skipped)
        {
            return new TracedPath(destination, "lease", [], kernelRoute, $"overlayd does not program the lease {NodeComparison.LeaseName(peer.Lease.Subnet)} of {node}: it {peer.Reason}");
        }

        string dev = device.Family.DeviceName;
        EntryCheck? broken = peer.Entries.FirstOrDefault(e => e.Status != EntryStatus.Ok);
        if (broken is not null)
        {
            return new TracedPath(destination, Output.NodeStatusView.KindName(broken.Kind), peer.Entries.ToList(), kernelRoute, Explain(broken, peer, destination, dev, node, sends));
        }

        // Every entry is right; the kernel's own choice must agree (a more specific route or a rule could divert it).
        RouteLookup? lookup = kernel.Lookups.GetValueOrDefault(destination.Address);
        bool direct = peer.Neighbour is null;
        int expectedDevice = device.Link!.Index;
        if (lookup is null || (!direct && lookup.InterfaceIndex != expectedDevice))
        {
            return new TracedPath(destination, "kernel route", peer.Entries.ToList(), kernelRoute,
                $"the entries for {destination.Subnet} are right, but {sends}, not through {dev}: another route or a routing rule takes precedence");
        }

        string explanation = direct
            ? $"whole: {destination.Address} goes straight to {node} on the shared link (DirectRouting): {peer.Route!.Expected}"
            : $"whole: {destination.Address} → route {peer.Route!.Expected} → neighbour {destination.Subnet!.Value.BaseAddress} is VTEP MAC {destination.VtepMac} → FDB sends {destination.VtepMac} to {destination.NodeAddress} ({node}) over UDP";
        return new TracedPath(destination, null, peer.Entries.ToList(), kernelRoute, explanation);
    }

    private static string Explain(EntryCheck broken, PeerCheck peer, TraceEnd destination, string dev, string node, string sends)
    {
        string subnet = destination.Subnet!.Value.ToString();
        string gateway = destination.Subnet!.Value.BaseAddress.ToString();
        return (broken.Kind, broken.Status) switch
        {
            (EntryKind.Route, EntryStatus.Missing) => $"this node has no route to {subnet} through {dev} (wanted: {broken.Expected}); {sends}",
            (EntryKind.Route, _) => $"the route to {subnet} is {broken.Actual}, not {broken.Expected}; {sends}",
            (EntryKind.Neighbour, EntryStatus.Missing) => $"{dev} has no neighbour entry for {gateway}, {node}'s VTEP address (wanted: {broken.Expected}): the kernel cannot put VTEP MAC {destination.VtepMac} on the inner frame, and nothing answers ARP on {dev}",
            (EntryKind.Neighbour, _) => $"the neighbour entry for {gateway} is {broken.Actual}, not {broken.Expected}: frames for {subnet} carry the wrong VTEP MAC",
            (EntryKind.Fdb, EntryStatus.Missing) => $"{dev} has no FDB entry for {destination.VtepMac} (wanted: {broken.Expected}): the kernel does not know to send frames for that VTEP MAC to {destination.NodeAddress} ({node}), so they are dropped",
            _ => $"the FDB entry for {destination.VtepMac} is {broken.Actual}, not {broken.Expected}: encapsulated frames go to the wrong node",
        };
    }

    /// <summary>The kernel's answer for an address in iproute2's words: <c>via 198.18.2.0 dev flannel.1</c>.</summary>
    public static string? KernelRoute(IPAddress address, KernelSnapshot kernel) =>
        kernel.Lookups.GetValueOrDefault(address) is { } lookup
            ? $"{(lookup.Gateway is null ? "" : "via " + lookup.Gateway + " ")}dev {kernel.DeviceName(lookup.InterfaceIndex)}"
            : null;
}

