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
using Overlay.Reconciliation;

namespace Overlay.Daemon.Reconciliation;

/// <summary>The outcome of one reconcile.</summary>
public sealed record ReconcileResult(int Changes, int Failed, int Peers, int Skipped, TimeSpan Duration);

/// <summary>
/// The thin I/O edge of reconciling the peers' entries (the devices are <see cref="VxlanDevices"/>): dumps the kernel's routes,
/// neighbours and FDB entries through netlink, lets <see cref="DesiredStateBuilder"/> and
/// <see cref="KernelDiff"/> decide, and applies the difference as one batch.
/// </summary>
public sealed partial class KernelReconciler
{
    private readonly NetlinkHandle _netlink;
    private readonly DaemonStatus _status;
    private readonly ILogger _logger;
    private readonly SkippedLeaseReports _skipReports = new();

    // The peers as the last full reconcile left them, for applying a lease change on its own.
    private PeerIndex? _index;

    // Deletions overlayd itself sent: their notifications are not drift and must not trigger a repair pass.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _ownDeletions = new(StringComparer.Ordinal);

    private readonly VxlanDevices _devices;

    /// <param name="netlink">A socket of the reconciler's own (the device component uses another at the same time).</param>
    public KernelReconciler(NetlinkHandle netlink, VxlanDevices devices, DaemonStatus status, ILogger logger)
    {
        _netlink = netlink;
        _devices = devices;
        _status = status;
        _logger = logger;
    }

    /// <summary>Whether every family's device is still the one last ensured (same name, same index).</summary>
    public bool DevicesPresent() =>
        _devices.Families.All(f => _netlink.GetLink(f.DeviceName) is { } link && link.Index == f.DeviceIndex);

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
                LogChangeFailed(_logger, failure.Error!.Message);
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
        IReadOnlyList<VxlanFamily> families = _devices.Families.Where(f => f.SubnetOf(own) is not null).ToList();
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
        foreach (SkippedLease skip in _skipReports.ToReport(desired.Skipped))
        {
            if (skip.AwaitingNode)
            {
                LogReservationAwaitingNode(_logger, skip.Subnet, skip.Reason);
            }
            else if (skip.Family == AddressFamily.InterNetworkV6)
            {
                LogLeaseV6Skipped(_logger, skip.Subnet, skip.Reason);
            }
            else
            {
                LogLeaseSkipped(_logger, skip.Subnet, skip.Reason);
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
                LogChangeFailed(_logger, failure.Error!.Message);
            }
        }

        _index = failed == 0 ? PeerIndex.TryCreate(families, leases, own, desired) : null;
        TimeSpan duration = Stopwatch.GetElapsedTime(started);
        _status.SetPeers(desired.PeerCount, desired.Skipped.Count);
        _status.RecordReconcile(duration);
        return new ReconcileResult(changes.Count, failed, desired.PeerCount, desired.Skipped.Count, duration);
    }

    [LoggerMessage(1008, LogLevel.Warning, "kernel change failed: {Error}")]
    private static partial void LogChangeFailed(ILogger logger, string error);

    [LoggerMessage(1009, LogLevel.Warning, "lease {Subnet} is not programmed: {Reason}")]
    private static partial void LogLeaseSkipped(ILogger logger, SubnetKey subnet, string reason);

    [LoggerMessage(1022, LogLevel.Warning, "lease {Subnet}: its IPv6 part is not programmed: {Reason}")]
    private static partial void LogLeaseV6Skipped(ILogger logger, SubnetKey subnet, string reason);

    [LoggerMessage(1025, LogLevel.Information, "reservation {Subnet} waits for its node: {Reason}")]
    private static partial void LogReservationAwaitingNode(ILogger logger, SubnetKey subnet, string reason);
}
