using Overlay.Core.Addressing;
using Overlay.Netlink;
using Overlay.Reconciliation;

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
    /// <summary>What a notification means for any of the node's families (their devices as last ensured).</summary>
    public static KernelEventMeaning Classify(NetlinkEvent change, IReadOnlyList<VxlanFamily> families)
    {
        foreach (VxlanFamily family in families)
        {
            KernelEventMeaning meaning = Classify(change, family);
            if (meaning != KernelEventMeaning.Ignore)
            {
                return meaning;
            }
        }

        return change is ResyncNeeded ? KernelEventMeaning.Resync : KernelEventMeaning.Ignore;
    }

    /// <summary>What a notification means for one family's device and pod network.</summary>
    public static KernelEventMeaning Classify(NetlinkEvent change, VxlanFamily family) => change switch
    {
        ResyncNeeded => KernelEventMeaning.Resync,
        LinkEvent link when link.Link.Index == family.DeviceIndex || link.Link.Name == family.DeviceName => KernelEventMeaning.Device,
        AddressEvent { Deleted: true } address when address.Address.InterfaceIndex == family.DeviceIndex => KernelEventMeaning.Device,
        RouteEvent { Deleted: true } route when route.Route.InterfaceIndex == family.DeviceIndex
            || (route.Route.Gateway is not null && IPAddressMath.Covers(family.PodNetwork, route.Route.Destination)) => KernelEventMeaning.Repair,
        NeighbourEvent { Deleted: true } neighbour when neighbour.Neighbour.InterfaceIndex == family.DeviceIndex => KernelEventMeaning.Repair,
        FdbEvent { Deleted: true } fdb when fdb.Entry.InterfaceIndex == family.DeviceIndex => KernelEventMeaning.Repair,
        _ => KernelEventMeaning.Ignore,
    };
}
