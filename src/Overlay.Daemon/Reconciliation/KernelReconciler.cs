using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Daemon.Device;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting;
using Overlay.Netlink;

namespace Overlay.Daemon.Reconciliation;

/// <summary>The outcome of one reconcile.</summary>
public sealed record ReconcileResult(int Changes, int Failed, int Peers, int Skipped, TimeSpan Duration);

/// <summary>
/// The thin I/O edge of reconciliation: brings the VXLAN device into shape, dumps the kernel's routes,
/// neighbours and FDB entries through netlink, lets <see cref="DesiredStateBuilder"/> and
/// <see cref="KernelDiff"/> decide, and applies the difference as one batch.
/// </summary>
public sealed class KernelReconciler
{
    private readonly NetlinkHandle _netlink;
    private readonly DaemonStatus _status;
    private readonly ILogger _logger;
    private readonly HashSet<(SubnetKey Subnet, AddressFamily Family)> _reportedSkips = [];

    // The peers as the last full reconcile left them, for applying a lease change on its own.
    private PeerIndex? _index;

    // Deletions overlayd itself sent: their notifications are not drift and must not trigger a repair pass.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _ownDeletions = new(StringComparer.Ordinal);

    public KernelReconciler(NetlinkHandle netlink, DaemonStatus status, ILogger logger)
    {
        _netlink = netlink;
        _status = status;
        _logger = logger;
    }

    /// <summary>The IPv4 device as last ensured; 0 before <see cref="EnsureDevice"/>.</summary>
    public int DeviceIndex { get; private set; }

    public MacAddress DeviceMac { get; private set; }

    /// <summary>The IPv6 device (flannel-v6.VNI) as last ensured; 0 when there is none (IPv4 only).</summary>
    public int DeviceIndexV6 { get; private set; }

    public MacAddress DeviceMacV6 { get; private set; }

    /// <summary>
    /// Creates the device, adopts a compatible one (keeping its MAC, so replacing flanneld drops nothing), or
    /// recreates an incompatible one; then sets MTU and brings it up. <paramref name="macForNewDevice"/> is
    /// used only when creating. The family of <paramref name="wanted"/>'s local address says which device this is:
    /// an IPv6 local address makes it the flannel-v6 device.
    /// </summary>
    public LinkInfo EnsureDevice(string name, VxlanInfo wanted, int mtu, MacAddress macForNewDevice)
    {
        LinkInfo? existing = _netlink.GetLink(name);
        DevicePlan plan = VxlanDevicePlan.Decide(existing, wanted);
        if (plan.Action == DeviceAction.Recreate)
        {
            _netlink.DeleteLink(existing!.Index);
        }

        LinkInfo link = plan.Action == DeviceAction.Adopt
            ? existing!
            : _netlink.CreateVxlan(new VxlanLinkSpec(name, wanted) { Mtu = mtu, Mac = macForNewDevice });

        if (link.Mtu != mtu)
        {
            _netlink.SetLinkMtu(link.Index, mtu);
        }

        if (!link.IsUp)
        {
            _netlink.SetLinkUp(link.Index);
        }

        link = _netlink.GetLink(link.Index) ?? throw new InvalidOperationException($"device {name} vanished while being set up");
        MacAddress mac = link.Mac ?? macForNewDevice;
        if (wanted.Local?.AddressFamily == AddressFamily.InterNetworkV6)
        {
            DeviceIndexV6 = link.Index;
            DeviceMacV6 = mac;
        }
        else
        {
            DeviceIndex = link.Index;
            DeviceMac = mac;
        }

        Log.DeviceReady(_logger, name, plan.Action.ToString().ToLowerInvariant(), plan.Reason, mac.ToString(), link.Mtu);
        return link;
    }

    /// <summary>Sets the MAC back if something (udev's MACAddressPolicy, an admin) changed it.</summary>
    public void ReassertMac(string name, AddressFamily family = AddressFamily.InterNetwork)
    {
        (int index, MacAddress wanted) = family == AddressFamily.InterNetworkV6 ? (DeviceIndexV6, DeviceMacV6) : (DeviceIndex, DeviceMac);
        LinkInfo? link = _netlink.GetLink(index);
        if (link?.Mac is { } mac && mac != wanted)
        {
            Log.MacReasserted(_logger, name, mac.ToString(), wanted.ToString());
            _netlink.SetLinkMac(index, wanted);
            _status.AddRepairs(1);
        }
    }

    public bool DeviceExists(string name, AddressFamily family = AddressFamily.InterNetwork) =>
        _netlink.GetLink(name) is { } link && link.Index == (family == AddressFamily.InterNetworkV6 ? DeviceIndexV6 : DeviceIndex);

    /// <summary>
    /// Gives the device the lease's network address as /32 (IPv4, on the IPv4 device) or /128 (IPv6, on the IPv6
    /// device), and removes addresses of an earlier lease.
    /// </summary>
    public int EnsureAddress(IPNetwork ownSubnet, IPNetwork podNetwork)
    {
        AddressFamily family = ownSubnet.BaseAddress.AddressFamily;
        int hostLength = family == AddressFamily.InterNetworkV6 ? 128 : 32;
        int deviceIndex = family == AddressFamily.InterNetworkV6 ? DeviceIndexV6 : DeviceIndex;
        var wanted = new AddressEntry(deviceIndex, ownSubnet.BaseAddress, hostLength);
        int changes = 0;
        IReadOnlyList<AddressEntry> present = _netlink.ListAddresses(family, deviceIndex);
        foreach (AddressEntry stale in present.Where(a => podNetwork.Contains(a.Address) && !(a.Address.Equals(wanted.Address) && a.PrefixLength == hostLength)))
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
    /// Applies lease changes on their own, when the last full reconcile left a <see cref="PeerIndex"/> and every
    /// change is a simple one; null means "do a full reconcile instead".
    /// </summary>
    public ReconcileResult? TryApplyLeaseChanges(IEnumerable<(SubnetKey Subnet, Lease? Lease)> changes)
    {
        long started = Stopwatch.GetTimestamp();
        if (_index is not { } index || !index.TryPlan(changes, out List<NetlinkChange> plan))
        {
            _index = null;
            return null;
        }

        int failed = 0;
        if (plan.Count > 0)
        {
            ExpectDeletions(plan);
            foreach (BatchItemResult failure in _netlink.Apply(plan).Failures)
            {
                failed++;
                Log.ChangeFailed(_logger, failure.Error!.Message);
            }
        }

        // A failure means the index cannot be trusted.
        if (failed > 0)
        {
            _index = null;
        }

        TimeSpan duration = Stopwatch.GetElapsedTime(started);
        _status.SetPeers(index.Count, 0);
        _status.RecordReconcile(duration);
        return new ReconcileResult(plan.Count, failed, index.Count, 0, duration);
    }

    /// <summary>True (once) for the notification of a deletion this reconciler sent itself.</summary>
    public bool IsOwnDeletion(NetlinkEvent change) =>
        DeletionKey(change) is { } key && _ownDeletions.TryRemove(key, out _);

    private void ExpectDeletions(IEnumerable<NetlinkChange> changes)
    {
        if (_ownDeletions.Count > 100_000)
        {
            _ownDeletions.Clear(); // notifications that never came (a monitor overrun); the resync covers it
        }

        foreach (NetlinkChange change in changes.Where(c => c.Operation == ChangeOperation.Delete))
        {
            if (DeletionKey(change.Entry) is { } key)
            {
                _ownDeletions[key] = 0;
            }
        }
    }

    private static string? DeletionKey(NetlinkEvent change) => change switch
    {
        RouteEvent { Deleted: true } e => DeletionKey(e.Route),
        NeighbourEvent { Deleted: true } e => DeletionKey(e.Neighbour),
        FdbEvent { Deleted: true } e => DeletionKey(e.Entry),
        _ => null,
    };

    private static string? DeletionKey(KernelEntry entry) => entry switch
    {
        RouteEntry r => $"route {r.Destination}",
        NeighbourEntry n => $"neigh {n.InterfaceIndex} {n.Address}",
        FdbEntry f => $"fdb {f.InterfaceIndex} {f.Mac} {f.Destination}",
        _ => null,
    };

    /// <summary>
    /// The full pass: the desired state from every lease, the kernel's tables dumped, the difference applied.
    /// (Keeping the last applied state to skip the dump cost over a megabyte at 5,000 peers for a dump of about
    /// 15 ms, and plain lease changes take the <see cref="PeerIndex"/> path anyway.)
    /// </summary>
    public ReconcileResult Reconcile(NetworkConfig config, IEnumerable<Lease> leases, SubnetKey own, int underlayIndex)
    {
        long started = Stopwatch.GetTimestamp();
        var onLinkCache = new Dictionary<IPAddress, bool>();
        Func<IPAddress, bool>? isOnLink = config.Backend.DirectRouting
            ? address =>
            {
                if (!onLinkCache.TryGetValue(address, out bool onLink))
                {
                    try
                    {
                        RouteLookup route = _netlink.LookupRoute(address);
                        onLink = route.Gateway is null && route.InterfaceIndex == underlayIndex;
                    }
                    catch (NetlinkException)
                    {
                        onLink = false;
                    }

                    onLinkCache[address] = onLink;
                }

                return onLink;
            }
            : null;

        int deviceIndexV6 = config.IPv6 is not null && own.IPv6 is not null ? DeviceIndexV6 : 0;
        DesiredState desired = DesiredStateBuilder.Build(config, leases, own, DeviceIndex, isOnLink, deviceIndexV6);
        foreach (SkippedLease skip in desired.Skipped)
        {
            if (_reportedSkips.Add((skip.Subnet, skip.Family)))
            {
                if (skip.Family == AddressFamily.InterNetworkV6)
                {
                    Log.LeaseV6Skipped(_logger, skip.Subnet.ToString(), skip.Reason);
                }
                else
                {
                    Log.LeaseSkipped(_logger, skip.Subnet.ToString(), skip.Reason);
                }
            }
        }

        ActualState actual = deviceIndexV6 == 0
            ? new ActualState(
                _netlink.ListRoutes(family: AddressFamily.InterNetwork),
                _netlink.ListNeighbours(DeviceIndex),
                _netlink.ListFdb(DeviceIndex))
            : new ActualState(
                [.. _netlink.ListRoutes(family: AddressFamily.InterNetwork), .. _netlink.ListRoutes(family: AddressFamily.InterNetworkV6)],
                [.. _netlink.ListNeighbours(DeviceIndex), .. _netlink.ListNeighbours(deviceIndexV6)],
                [.. _netlink.ListFdb(DeviceIndex), .. _netlink.ListFdb(deviceIndexV6)]);
        var scope = new KernelDiff.Scope(config.Network, own.IPv4, DeviceIndex, config.Backend.DirectRouting)
        {
            IPv6 = deviceIndexV6 == 0 ? null : new KernelDiff.Scope(config.IPv6!.Network, own.IPv6!.Value, deviceIndexV6, config.Backend.DirectRouting),
        };
        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(desired, actual, scope);

        int failed = 0;
        if (changes.Count > 0)
        {
            ExpectDeletions(changes);
            BatchResult result = _netlink.Apply(changes);
            foreach (BatchItemResult failure in result.Failures)
            {
                failed++;
                Log.ChangeFailed(_logger, failure.Error!.Message);
            }
        }

        _index = failed == 0 ? PeerIndex.TryCreate(config, leases, own, DeviceIndex, desired, deviceIndexV6) : null;
        TimeSpan duration = Stopwatch.GetElapsedTime(started);
        _status.SetPeers(desired.PeerCount, desired.Skipped.Count);
        _status.RecordReconcile(duration);
        return new ReconcileResult(changes.Count, failed, desired.PeerCount, desired.Skipped.Count, duration);
    }
}
