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
    private readonly TimeProvider _time;
    private readonly DepartureGrace _grace;
    private readonly ITimer _graceTimer;

    // The lease set as etcd last said, and what is programmed: that set and the departed leases still in their grace.
    private IReadOnlyList<Lease> _current = [];
    private IReadOnlyList<Lease> _leases = [];

    /// <param name="sink">Where the wake-up at the end of a departed peer's grace goes (<see cref="Triggers.Departures"/>).</param>
    public PeersComponent(
        KernelReconciler reconciler,
        Func<OwnLease> own,
        int underlayIndex,
        DaemonStatus status,
        ITriggerSink sink,
        TimeProvider time,
        ILogger logger,
        TimeSpan? departureGrace = null)
    {
        _reconciler = reconciler;
        _own = own;
        _underlayIndex = underlayIndex;
        _status = status;
        _logger = logger;
        _time = time;
        _grace = new DepartureGrace(departureGrace ?? DepartureGrace.DefaultPeriod);
        _graceTimer = time.CreateTimer(_ => sink.Publish(new Trigger(Triggers.Departures)), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public string Name => "peers";

    public Triggers Wants => PassPlanner.PeerTriggers;

    /// <summary>The start-up reconcile: programs every lease of the first full list, removes what nodes that left had.</summary>
    public ReconcileResult FirstPass(IReadOnlyList<Lease> leases)
    {
        _current = leases;
        _leases = _grace.Effective(leases, _own().Subnet);
        ReconcileResult result = _reconciler.Reconcile(_leases, _own().Subnet, _underlayIndex);
        LogReconciled(_logger, "start", result.Changes, result.Peers, result.Failed, result.Duration.TotalMilliseconds);
        return result;
    }

    public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        SubnetKey own = _own().Subnet;
        DateTimeOffset now = _time.GetUtcNow();
        if (batch.LeaseUpdates.Count > 0)
        {
            IReadOnlyList<Lease> previous = _current;
            _current = batch.LeaseUpdates[^1].Current;
            _grace.Follow(previous, _current, own, now);
        }

        IReadOnlyList<SubnetKey> departed = _grace.TakeExpired(now);
        _leases = _grace.Effective(_current, own);
        ScheduleGraceEnd(now);

        PassPlan plan = PassPlanner.Plan(batch, default);
        if (plan.Reconcile == ReconcileMode.None)
        {
            return ValueTask.CompletedTask;
        }

        ReconcileResult? result = plan.Reconcile == ReconcileMode.LeaseChanges
            ? _reconciler.TryApplyLeaseChanges(LeaseChanges(batch, departed))
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

    /// <summary>
    /// Each subnet the batch touched with the lease it ends with (null: gone), except a departed lease in its grace,
    /// and the leases whose grace ended: a lease deleted and put back within one batch is one unchanged lease.
    /// </summary>
    private List<(SubnetKey Subnet, Lease? Lease)> LeaseChanges(TriggerBatch batch, IReadOnlyList<SubnetKey> departed)
    {
        var bySubnet = new Dictionary<SubnetKey, Lease>(_current.Count);
        foreach (Lease lease in _current)
        {
            bySubnet[lease.Subnet] = lease;
        }

        var touched = new HashSet<SubnetKey>();
        var changes = new List<(SubnetKey Subnet, Lease? Lease)>();
        foreach (LeaseChange change in batch.LeaseUpdates.SelectMany(u => u.Changes))
        {
            if (!touched.Add(change.Subnet))
            {
                continue;
            }

            Lease? now = bySubnet.GetValueOrDefault(change.Subnet);
            if (now is not null || !_grace.IsHeld(change.Subnet))
            {
                changes.Add((change.Subnet, now));
            }
        }

        foreach (SubnetKey subnet in departed)
        {
            if (!changes.Exists(c => c.Subnet == subnet))
            {
                changes.Add((subnet, null));
            }
        }

        return changes;
    }

    /// <summary>Wakes this component when the first held lease's grace ends.</summary>
    private void ScheduleGraceEnd(DateTimeOffset now)
    {
        TimeSpan due = _grace.NextExpiry is { } end ? end - now : Timeout.InfiniteTimeSpan;
        _graceTimer.Change(due < TimeSpan.Zero && due != Timeout.InfiniteTimeSpan ? TimeSpan.Zero : due, Timeout.InfiniteTimeSpan);
    }

    [LoggerMessage(1007, LogLevel.Information, "reconciled ({Trigger}): {Changes} changes, {Peers} peers, {Failed} failed, {Milliseconds} ms")]
    private static partial void LogReconciled(ILogger logger, string trigger, int changes, int peers, int failed, double milliseconds);
}
