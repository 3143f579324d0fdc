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

    // The lease set as etcd last said; what is programmed is that set and the departed leases still in their grace.
    private IReadOnlyList<Lease> _current = [];

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
        ReconcileResult result = _reconciler.Reconcile(_grace.Effective(leases, _own().Subnet), _own().Subnet, _underlayIndex);
        LogReconciled(_logger, "start", result.Changes, result.Peers, result.Failed, result.Duration.TotalMilliseconds);
        return result;
    }

    public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        SubnetKey own = _own().Subnet;
        DateTimeOffset now = _time.GetUtcNow();
        // Each subnet the batch touched, with the lease it ends with (null: gone); a departed lease starts its grace.
        var touched = new Dictionary<SubnetKey, Lease?>();
        foreach (LeaseUpdate update in batch.LeaseUpdates)
        {
            foreach (LeaseChange change in update.Changes)
            {
                touched[change.Subnet] = change.Lease;
                if (change.Lease is null)
                {
                    if (change.Previous is { } gone)
                    {
                        _grace.Depart(gone, own, now);
                    }
                }
                else
                {
                    _grace.Return(change.Subnet);
                }
            }

            _current = update.Current;
        }

        IReadOnlyList<SubnetKey> departed = _grace.TakeExpired(now);
        ScheduleGraceEnd(now);

        PassPlan plan = PassPlanner.Plan(batch, default);
        if (plan.Reconcile == ReconcileMode.None)
        {
            return ValueTask.CompletedTask;
        }

        ReconcileResult? result = plan.Reconcile == ReconcileMode.LeaseChanges
            ? _reconciler.TryApplyLeaseChanges(LeaseChanges(touched, departed))
            : null;
        if (result is null)
        {
            // A device deleted by someone is the device component's to rebuild; it wakes this one when done.
            if (!_reconciler.DevicesPresent())
            {
                return ValueTask.CompletedTask;
            }

            result = _reconciler.Reconcile(_grace.Effective(_current, own), own, _underlayIndex);
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
    /// The touched subnets with their end state, except a departed lease in its grace, and the leases whose grace ended:
    /// a lease deleted and put back within one batch is one unchanged lease.
    /// </summary>
    private List<(SubnetKey Subnet, Lease? Lease)> LeaseChanges(Dictionary<SubnetKey, Lease?> touched, IReadOnlyList<SubnetKey> departed)
    {
        var changes = new List<(SubnetKey Subnet, Lease? Lease)>(touched.Count + departed.Count);
        foreach ((SubnetKey subnet, Lease? lease) in touched)
        {
            if (lease is not null || !_grace.IsHeld(subnet))
            {
                changes.Add((subnet, lease));
            }
        }

        foreach (SubnetKey subnet in departed)
        {
            if (!touched.ContainsKey(subnet)) // a touched one is above already: no longer held, it ends as null
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
