using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Overlay.Core.Leases;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;

namespace Overlay.Daemon.Reconciliation;

/// <summary>
/// Keeps every other node's route, neighbour and FDB entries equal to the lease set: a plain lease change
/// through the <see cref="PeerIndex"/>, anything else (drift, a relist, this node's lease) as a full reconcile.
/// </summary>
public sealed partial class PeersComponent : INodeComponent
{
    private readonly KernelReconciler _reconciler;
    private readonly Func<OwnLease> _own;
    private readonly int _underlayIndex;
    private readonly DaemonStatus _status;
    private readonly ILogger _logger;
    private IReadOnlyList<Lease> _leases = [];

    public PeersComponent(KernelReconciler reconciler, Func<OwnLease> own, int underlayIndex, DaemonStatus status, ILogger logger)
    {
        _reconciler = reconciler;
        _own = own;
        _underlayIndex = underlayIndex;
        _status = status;
        _logger = logger;
    }

    public string Name => "peers";

    public Triggers Wants => PassPlanner.PeerTriggers;

    /// <summary>The start-up reconcile: programs every lease of the first full list, removes what nodes that left had.</summary>
    public ReconcileResult FirstPass(IReadOnlyList<Lease> leases)
    {
        _leases = leases;
        ReconcileResult result = _reconciler.Reconcile(leases, _own().Subnet, _underlayIndex);
        LogReconciled(_logger, "start", result.Changes, result.Peers, result.Failed, result.Duration.TotalMilliseconds);
        return result;
    }

    public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        if (batch.LeaseUpdates.Count > 0)
        {
            _leases = batch.LeaseUpdates[^1].Current;
        }

        PassPlan plan = PassPlanner.Plan(batch, default);
        if (plan.Reconcile == ReconcileMode.None)
        {
            return ValueTask.CompletedTask;
        }

        ReconcileResult? result = plan.Reconcile == ReconcileMode.LeaseChanges
            ? _reconciler.TryApplyLeaseChanges(batch.LeaseUpdates.SelectMany(u => u.Changes).Select(c => (c.Subnet, c.Kind == LeaseChangeKind.Removed ? null : c.Lease)))
            : null;
        if (result is null)
        {
            // A device deleted by someone is the device component's to rebuild; it wakes this one when done.
            if (!_reconciler.DevicesPresent())
            {
                return ValueTask.CompletedTask;
            }

            result = _reconciler.Reconcile(_leases, _own().Subnet, _underlayIndex);
        }

        if (plan.CountRepairs)
        {
            _status.AddRepairs(result.Changes);
        }

        if (batch.OldestUpdateAt != 0)
        {
            _status.RecordWatchLag(Stopwatch.GetElapsedTime(batch.OldestUpdateAt));
        }

        if (result.Changes > 0)
        {
            LogReconciled(_logger, batch.ToString(), result.Changes, result.Peers, result.Failed, result.Duration.TotalMilliseconds);
        }

        return ValueTask.CompletedTask;
    }

    [LoggerMessage(1007, LogLevel.Information, "reconciled ({Trigger}): {Changes} changes, {Peers} peers, {Failed} failed, {Milliseconds} ms")]
    private static partial void LogReconciled(ILogger logger, string trigger, int changes, int peers, int failed, double milliseconds);
}
