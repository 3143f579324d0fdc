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

    private volatile VxlanFamily[] _families = [];

    public KernelReconciler(NetlinkHandle netlink, DaemonStatus status, ILogger logger)
    {
        _netlink = netlink;
        _status = status;
        _logger = logger;
    }

    /// <summary>
    /// The node's families as last ensured (device index and MAC), in the order they were first ensured: IPv4, then
    /// IPv6 in a dual-stack network. Empty before <see cref="EnsureDevice"/>. Replaced as a whole when a device is
    /// recreated, so another thread (the kernel event pump) reads a consistent list.
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
        VxlanFamily[] families = [.. _families];
        int at = Array.FindIndex(families, f => f.AddressFamily == family.AddressFamily);
        _families = at < 0 ? [.. families, ensured] : families.Select((f, i) => i == at ? ensured : f).ToArray();

        Log.DeviceReady(_logger, name, plan.Action.ToString().ToLowerInvariant(), plan.Reason, ensured.DeviceMac.ToString(), link.Mtu);
        return ensured;
    }

    /// <summary>Sets the family's device's MAC back if something (udev's MACAddressPolicy, an admin) changed it.</summary>
    public void ReassertMac(VxlanFamily family)
    {
        VxlanFamily current = Current(family);
        LinkInfo? link = _netlink.GetLink(current.DeviceIndex);
        if (link?.Mac is { } mac && mac != current.DeviceMac)
        {
            Log.MacReasserted(_logger, current.DeviceName, mac.ToString(), current.DeviceMac.ToString());
            _netlink.SetLinkMac(current.DeviceIndex, current.DeviceMac);
            _status.AddRepairs(1);
        }
    }

    /// <summary>Whether the family's device is still the one last ensured (same name, same index).</summary>
    public bool DeviceExists(VxlanFamily family) =>
        _netlink.GetLink(family.DeviceName) is { } link && link.Index == Current(family).DeviceIndex;

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
    /// The periodic and event-driven device check of one family: a device deleted by someone is recreated with its
    /// MAC and address; a present one gets its MAC re-asserted and its address ensured. Nothing when this node's
    /// lease has no subnet in the family.
    /// </summary>
    /// <returns>The repairs made (a recreated device, address changes); a re-asserted MAC is counted by itself.</returns>
    public int CheckDevice(VxlanFamily family, SubnetKey own)
    {
        VxlanFamily current = Current(family);
        if (current.SubnetOf(own) is null)
        {
            return 0;
        }

        int repairs = 0;
        if (!DeviceExists(current))
        {
            Log.DeviceGone(_logger, current.DeviceName);
            EnsureDevice(current);
            repairs = 1;
        }
        else
        {
            ReassertMac(current);
        }

        return repairs + EnsureAddress(current, own);
    }

    /// <summary>The family as last ensured (its device index and MAC now).</summary>
    private VxlanFamily Current(VxlanFamily family) =>
        _families.FirstOrDefault(f => f.AddressFamily == family.AddressFamily)
        ?? throw new InvalidOperationException($"device {family.DeviceName} was never ensured");

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
    public ReconcileResult Reconcile(IEnumerable<Lease> leases, SubnetKey own, int underlayIndex)
    {
        long started = Stopwatch.GetTimestamp();
        var onLinkCache = new Dictionary<IPAddress, bool>();
        IReadOnlyList<VxlanFamily> families = _families.Where(f => f.SubnetOf(own) is not null).ToList();
        Func<IPAddress, bool>? isOnLink = families.Any(f => f.DirectRouting)
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

        DesiredState desired = DesiredStateBuilder.Build(families, leases, own, isOnLink);
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

        var routes = new List<RouteEntry>();
        var neighbours = new List<NeighbourEntry>();
        var fdb = new List<FdbEntry>();
        foreach (VxlanFamily family in families)
        {
            routes.AddRange(_netlink.ListRoutes(family: family.AddressFamily));
            neighbours.AddRange(_netlink.ListNeighbours(family.DeviceIndex));
            fdb.AddRange(_netlink.ListFdb(family.DeviceIndex));
        }

        var actual = new ActualState(routes, neighbours, fdb);
        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(desired, actual, families.Select(f => f.Scope(f.SubnetOf(own)!.Value)).ToList());

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

        _index = failed == 0 ? PeerIndex.TryCreate(families, leases, own, desired) : null;
        TimeSpan duration = Stopwatch.GetElapsedTime(started);
        _status.SetPeers(desired.PeerCount, desired.Skipped.Count);
        _status.RecordReconcile(duration);
        return new ReconcileResult(changes.Count, failed, desired.PeerCount, desired.Skipped.Count, duration);
    }
}
