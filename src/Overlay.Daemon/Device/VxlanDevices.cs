using Microsoft.Extensions.Logging;
using Overlay.Core.Leases;
using Overlay.Daemon.Health;
using Overlay.Daemon.Reconciliation;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Device;

/// <summary>What one device check found and did.</summary>
/// <param name="Repairs">Changes made: a recreated device, address changes (a re-asserted MAC is counted by itself).</param>
/// <param name="Recreated">The device was gone and was made again: every entry on it must be programmed again.</param>
public readonly record struct DeviceCheck(int Repairs, bool Recreated);

/// <summary>
/// The node's VXLAN devices, one per family (<c>flannel.VNI</c>, and <c>flannel-v6.VNI</c> in dual stack), through a
/// netlink socket of their own: create, adopt or recreate; keep the MAC; keep the lease's address on them.
/// </summary>
public sealed partial class VxlanDevices : IDisposable
{
    private readonly NetlinkHandle _netlink;
    private readonly DaemonStatus _status;
    private readonly ILogger _logger;
    private volatile VxlanFamily[] _families = [];

    public VxlanDevices(NetlinkHandle netlink, DaemonStatus status, ILogger logger)
    {
        _netlink = netlink;
        _status = status;
        _logger = logger;
    }

    /// <summary>
    /// The node's families as last ensured (device index and MAC), in the order they were first ensured: IPv4, then
    /// IPv6 in a dual-stack network. Empty before <see cref="EnsureDevice"/>. Replaced as a whole when a device is
    /// recreated, so other components (the peers' reconciler, the kernel event source) read a consistent list.
    /// </summary>
    public IReadOnlyList<VxlanFamily> Families => _families;

    /// <summary>
    /// Creates the family's device, adopts a compatible one (keeping its MAC, so replacing flanneld drops nothing), or
    /// recreates an incompatible one; then sets MTU and brings it up. The family's <see cref="VxlanFamily.DeviceMac"/>
    /// is used only when creating. Returns the family as ensured, which <see cref="Families"/> then holds.
    /// </summary>
    public VxlanFamily EnsureDevice(VxlanFamily family)
    {
        VxlanInfo wanted = family.Vxlan ?? throw new ArgumentException($"{family.DeviceName} has no underlay yet", nameof(family));
        string name = family.DeviceName;
        int mtu = family.Mtu;
        LinkInfo? existing = _netlink.GetLink(name);
        DevicePlan plan = VxlanDevicePlan.Decide(existing, wanted);
        if (plan.Action == DeviceAction.Recreate)
        {
            _netlink.DeleteLink(existing!.Index);
        }

        LinkInfo link = plan.Action == DeviceAction.Adopt
            ? existing!
            : _netlink.CreateVxlan(new VxlanLinkSpec(name, wanted) { Mtu = mtu, Mac = family.DeviceMac });

        if (link.Mtu != mtu)
        {
            _netlink.SetLinkMtu(link.Index, mtu);
        }

        if (!link.IsUp)
        {
            _netlink.SetLinkUp(link.Index);
        }

        link = _netlink.GetLink(link.Index) ?? throw new InvalidOperationException($"device {name} vanished while being set up");
        VxlanFamily ensured = family with { DeviceIndex = link.Index, DeviceMac = link.Mac ?? family.DeviceMac };
        VxlanFamily[] families = _families;
        int at = Array.FindIndex(families, f => f.AddressFamily == family.AddressFamily);
        _families = at < 0 ? [.. families, ensured] : [.. families.Select((f, i) => i == at ? ensured : f)];

        LogDeviceReady(_logger, name, plan.Action.ToString().ToLowerInvariant(), plan.Reason, ensured.DeviceMac, link.Mtu);
        return ensured;
    }

    /// <summary>
    /// Gives the family's device this node's subnet's network address in that family as /32 (IPv4) or /128 (IPv6),
    /// and removes addresses of an earlier lease; nothing when the lease has no subnet in the family.
    /// </summary>
    /// <returns>The number of changes made.</returns>
    public int EnsureAddress(VxlanFamily family, SubnetKey own)
    {
        VxlanFamily current = Current(family);
        if (current.SubnetOf(own) is not { } ownSubnet)
        {
            return 0;
        }

        int hostLength = current.HostPrefixLength;
        var wanted = new AddressEntry(current.DeviceIndex, ownSubnet.BaseAddress, hostLength);
        int changes = 0;
        IReadOnlyList<AddressEntry> present = _netlink.ListAddresses(current.AddressFamily, current.DeviceIndex);
        foreach (AddressEntry stale in present.Where(a => current.PodNetwork.Contains(a.Address) && !(a.Address.Equals(wanted.Address) && a.PrefixLength == hostLength)))
        {
            _netlink.DeleteAddress(stale);
            changes++;
        }

        if (!present.Any(a => a.Address.Equals(wanted.Address) && a.PrefixLength == hostLength))
        {
            _netlink.ReplaceAddress(wanted);
            changes++;
        }

        return changes;
    }

    /// <summary>
    /// The periodic and event-driven check of one family's device: one deleted by someone is recreated with its MAC
    /// and address; a present one gets its MAC re-asserted and its address ensured. Nothing when this node's lease
    /// has no subnet in the family.
    /// </summary>
    public DeviceCheck CheckDevice(VxlanFamily family, SubnetKey own)
    {
        VxlanFamily current = Current(family);
        if (current.SubnetOf(own) is null)
        {
            return default;
        }

        bool recreated = false;
        if (!(_netlink.GetLink(current.DeviceName) is { } link && link.Index == current.DeviceIndex))
        {
            LogDeviceGone(_logger, current.DeviceName);
            EnsureDevice(current);
            recreated = true;
        }
        else if (link.Mac is { } mac && mac != current.DeviceMac)
        {
            LogMacReasserted(_logger, current.DeviceName, mac, current.DeviceMac);
            _netlink.SetLinkMac(current.DeviceIndex, current.DeviceMac);
            _status.AddRepairs(1);
        }

        return new DeviceCheck((recreated ? 1 : 0) + EnsureAddress(current, own), recreated);
    }

    public void Dispose() => _netlink.Dispose();

    /// <summary>The family as last ensured (its device index and MAC now).</summary>
    private VxlanFamily Current(VxlanFamily family) =>
        Array.Find(_families, f => f.AddressFamily == family.AddressFamily)
        ?? throw new InvalidOperationException($"device {family.DeviceName} was never ensured");

    [LoggerMessage(1003, LogLevel.Information, "device {Device}: {Action} ({Reason}); MAC {Mac}, MTU {Mtu}")]
    private static partial void LogDeviceReady(ILogger logger, string device, string action, string reason, MacAddress mac, int mtu);

    [LoggerMessage(1010, LogLevel.Warning, "device {Device} is gone; recreating it and reprogramming every peer")]
    private static partial void LogDeviceGone(ILogger logger, string device);

    [LoggerMessage(1011, LogLevel.Warning, "device {Device} MAC changed to {Found}; setting it back to {Wanted}")]
    private static partial void LogMacReasserted(ILogger logger, string device, MacAddress found, MacAddress wanted);
}
