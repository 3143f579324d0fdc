using System.Net;
using Overlay.Core.Addressing;
using Overlay.Netlink;

namespace Overlay.Daemon.Reconciliation;

public enum KernelEventMeaning
{
    /// <summary>Not overlayd's business.</summary>
    Ignore,

    /// <summary>Someone removed one of overlayd's entries: reconcile now.</summary>
    Repair,

    /// <summary>The VXLAN device was deleted or changed (MAC, MTU, state): check and rebuild it.</summary>
    Device,

    /// <summary>Notifications were lost: compare everything.</summary>
    Resync,
}

/// <summary>
/// Decides which kernel notifications call for a repair. Only deletions (and any change to the device) matter:
/// overlayd's own writes arrive as "new" events and would otherwise make every reconcile trigger another.
/// </summary>
public static class KernelEventFilter
{
    /// <summary>Classifies for the IPv4 device and, in a dual-stack network, also for the IPv6 one.</summary>
    public static KernelEventMeaning Classify(NetlinkEvent change, int deviceIndex, string deviceName, IPNetwork podNetwork, WatchedDevice? ipv6)
    {
        KernelEventMeaning meaning = Classify(change, deviceIndex, deviceName, podNetwork);
        return meaning == KernelEventMeaning.Ignore && ipv6 is { } v6
            ? Classify(change, v6.Index, v6.Name, v6.PodNetwork)
            : meaning;
    }

    public static KernelEventMeaning Classify(NetlinkEvent change, int deviceIndex, string deviceName, IPNetwork podNetwork) => change switch
    {
        ResyncNeeded => KernelEventMeaning.Resync,
        LinkEvent link when link.Link.Index == deviceIndex || link.Link.Name == deviceName => KernelEventMeaning.Device,
        AddressEvent { Deleted: true } address when address.Address.InterfaceIndex == deviceIndex => KernelEventMeaning.Device,
        RouteEvent { Deleted: true } route when route.Route.InterfaceIndex == deviceIndex
            || (route.Route.Gateway is not null && IPAddressMath.Covers(podNetwork, route.Route.Destination)) => KernelEventMeaning.Repair,
        NeighbourEvent { Deleted: true } neighbour when neighbour.Neighbour.InterfaceIndex == deviceIndex => KernelEventMeaning.Repair,
        FdbEvent { Deleted: true } fdb when fdb.Entry.InterfaceIndex == deviceIndex => KernelEventMeaning.Repair,
        _ => KernelEventMeaning.Ignore,
    };
}

/// <summary>A VXLAN device whose entries the filter watches, and the pod network its routes lie in.</summary>
public sealed record WatchedDevice(int Index, string Name, IPNetwork PodNetwork);
