using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Overlay.Core.Dns;
using Overlay.Core.Services;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Watching;
using Overlay.Netlink;

namespace Overlay.Daemon.Services;

/// <summary>
/// The service proxy: keeps this node's service rules equal to the registry. Registry updates (services and pods
/// from etcd) go into the <see cref="ServiceCatalog"/>; each pass applies the difference to the nftables table in
/// one transaction, deletes the UDP conntrack entries of endpoints that went away, checks a canary every rules
/// tick and, now and then, the whole table; a changed table is loaded whole again.
/// </summary>
public sealed partial class ServicesComponent : INodeComponent, IDisposable
{
    /// <summary>How often the slow, complete check of the table runs (at a resync tick).</summary>
    public static readonly TimeSpan CompleteCheckInterval = TimeSpan.FromMinutes(5);

    private readonly ServiceCatalog _catalog;
    private readonly ServiceTable _table;
    private readonly IPNetwork _serviceNetwork;
    private readonly IReadOnlyList<IPNetwork> _podNetworks;
    private readonly Func<IPNetwork>? _localSubnet;
    private readonly IPAddress? _clusterDns;
    private readonly IClusterZoneFeed? _zone;
    private readonly DaemonStatus _status;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ConntrackHandle? _conntrack;
    private readonly HashSet<string> _listed = new(StringComparer.Ordinal);
    private readonly int _sources;
    private DateTimeOffset _lastCompleteCheck;
    private bool _loaded;

    /// <param name="sources">How many registry watches feed the component: the first load waits for the first list of each,
    /// so that a restart never loads the services without their pods (which would refuse connections for a moment).</param>
    /// <param name="localSubnet">This node's own pod subnet (its lease), whose endpoints alone can hairpin.</param>
    /// <param name="clusterDns">The cluster DNS address to redirect to this node's listener (the local subnet's first address,
    /// the VXLAN device's); null: no cluster DNS on this node.</param>
    /// <param name="zone">Cluster DNS's records, told of every change once its rules are live; null without DNS.</param>
    public ServicesComponent(ServiceCatalog catalog, ServiceTable table, IPNetwork serviceNetwork, IReadOnlyList<IPNetwork> podNetworks, DaemonStatus status, TimeProvider time, ILogger logger, int sources = 2, Func<IPNetwork>? localSubnet = null, IPAddress? clusterDns = null, IClusterZoneFeed? zone = null)
    {
        _clusterDns = clusterDns;
        _zone = zone;
        _localSubnet = localSubnet;
        _sources = sources;
        _catalog = catalog;
        _table = table;
        _serviceNetwork = serviceNetwork;
        _podNetworks = podNetworks;
        _status = status;
        _time = time;
        _logger = logger;
        _lastCompleteCheck = time.GetUtcNow();
    }

    public string Name => "services";

    public Triggers Wants => Triggers.Services | Triggers.OwnLease | Triggers.Rules | Triggers.Resync | Triggers.Retry;

    public async ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        foreach (PrefixUpdate update in batch.RegistryUpdates)
        {
            if (update.IsResync)
            {
                _listed.Add(update.Prefix);
            }

            foreach (SkippedRegistryEntry skipped in _catalog.Apply(update))
            {
                LogEntrySkipped(_logger, skipped.Key, skipped.Reason);
            }
        }

        if (!_loaded && _listed.Count < _sources)
        {
            return; // not everything listed yet: nothing to load, nothing to check
        }

        bool due = _time.GetUtcNow() - _lastCompleteCheck >= CompleteCheckInterval;
        bool moved = _localSubnet is not null && _table.Applied?.LocalNetworks is [var applied] && !applied.Equals(_localSubnet());
        PassPlan plan = PassPlanner.Plan(batch, new PlannerState(OwnLeaseMoved: moved, ServicesManaged: true, ServicesCompleteCheckDue: due));
        if (plan.ReloadServices || !_loaded)
        {
            await LoadAsync(ct);
            return;
        }

        if (plan.ApplyServices)
        {
            // A registry change, or a moved lease: the planner reloads when the node's subnet (the hairpin set's) changed.
            await ApplyAsync(ct);
        }

        if (plan.CheckServices && _loaded && !await _table.IsIntactAsync(ct))
        {
            LogTableRestored(_logger, "canary");
            await LoadAsync(ct);
            _status.AddRepairs(1);
        }

        if (plan.CheckServicesComplete && _loaded)
        {
            _lastCompleteCheck = _time.GetUtcNow();
            if (!await _table.IsCompleteAsync(ct))
            {
                LogTableRestored(_logger, "complete check");
                await LoadAsync(ct);
                _status.AddRepairs(1);
            }
        }
    }

    /// <summary>Forgets what was applied and loads the table whole.</summary>
    private async Task LoadAsync(CancellationToken ct)
    {
        _table.Invalidate();
        _loaded = false;
        await ApplyAsync(ct);
        _loaded = true;
        LogLoaded(_logger, _catalog.ServiceCount, _catalog.PodCount, _catalog.SkippedCount);
    }

    private async Task ApplyAsync(CancellationToken ct)
    {
        long start = Stopwatch.GetTimestamp();
        ServiceRulesInput desired = _catalog.Desired(_serviceNetwork, _podNetworks);
        if (_localSubnet is not null)
        {
            IPNetwork local = _localSubnet();
            desired = desired with
            {
                LocalNetworks = [local],
                ClusterDns = _clusterDns is null ? null : new ClusterDnsRedirect(_clusterDns, local.BaseAddress),
            };
        }

        ServiceApplyResult result = await _table.ApplyAsync(desired, ct);
        if (_zone is not null)
        {
            _catalog.FeedZone(_zone);
        }

        _status.RecordServiceSync(Stopwatch.GetElapsedTime(start));
        _status.SetServices(_catalog.ServiceCount, desired.Frontends.Count, _catalog.SkippedCount);
        ForgetFlows(result.StaleBackends);
    }

    /// <summary>UDP flows DNATed to an endpoint that no service uses any more would keep going to it: delete them.</summary>
    private void ForgetFlows(IReadOnlyCollection<Backend> gone)
    {
        if (gone.Count == 0)
        {
            return;
        }

        try
        {
            _conntrack ??= ConntrackHandle.Open();
            foreach (Backend backend in gone)
            {
                int deleted = _conntrack.DeleteUdpFlows(backend.Address, backend.Port);
                if (deleted > 0)
                {
                    LogFlowsDeleted(_logger, deleted, backend.Address, backend.Port);
                }
            }
        }
        catch (NetlinkException e)
        {
            // The rules are right; a stale UDP flow is a lesser harm than failing the pass. Logged, and tried on the next removal.
            LogFlowsNotDeleted(_logger, e.Message);
            _conntrack?.Dispose();
            _conntrack = null;
        }
    }

    public void Dispose() => _conntrack?.Dispose();

    [LoggerMessage(1030, LogLevel.Warning, "services: skipped {Key}: {Reason}")]
    private static partial void LogEntrySkipped(ILogger logger, string key, string reason);

    [LoggerMessage(1031, LogLevel.Information, "services: rules loaded for {Services} services and {Pods} pods ({Skipped} registry values skipped so far)")]
    private static partial void LogLoaded(ILogger logger, int services, int pods, long skipped);

    [LoggerMessage(1032, LogLevel.Warning, "services: the nftables service table was changed by someone else ({Check}); loading it again")]
    private static partial void LogTableRestored(ILogger logger, string check);

    [LoggerMessage(1033, LogLevel.Information, "services: deleted {Count} UDP conntrack entries of the removed endpoint {Address}:{Port}")]
    private static partial void LogFlowsDeleted(ILogger logger, int count, IPAddress address, int port);

    [LoggerMessage(1034, LogLevel.Warning, "services: could not delete UDP conntrack entries: {Error}")]
    private static partial void LogFlowsNotDeleted(ILogger logger, string error);
}
