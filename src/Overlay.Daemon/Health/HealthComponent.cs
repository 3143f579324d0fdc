using Overlay.Daemon.Hosting;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Store;

namespace Overlay.Daemon.Health;

/// <summary>
/// The loop's own health: pets systemd's watchdog from inside the loop (so a stuck loop gets restarted),
/// keeps systemd's status line and the lease expiry in the metrics current, and gives memory back once
/// things have been quiet after a burst of work.
/// </summary>
public sealed class HealthComponent(DaemonStatus status, SystemdNotify systemd, Func<OwnLease> own, TimeProvider time) : INodeComponent
{
    /// <summary>How often the housekeeping tick comes.</summary>
    public static readonly TimeSpan HousekeepingInterval = TimeSpan.FromSeconds(5);

    private bool _activitySinceTrim = true; // the start-up burst
    private DateTimeOffset _lastActivity = time.GetUtcNow();

    public string Name => "health";

    public Triggers Wants => Triggers.Watchdog | Triggers.PassCompleted | Triggers.OwnLease | Triggers.Housekeeping;

    public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        DateTimeOffset now = time.GetUtcNow();
        if (batch.Has(Triggers.PassCompleted))
        {
            _activitySinceTrim = true;
            _lastActivity = now;
        }

        PassPlan plan = PassPlanner.Plan(batch, new PlannerState(ActivitySinceTrim: _activitySinceTrim, QuietFor: now - _lastActivity));
        if (plan.PetWatchdog)
        {
            systemd.Watchdog();
        }

        if (plan.UpdateStatus)
        {
            OwnLease lease = own();
            status.SetLeaseExpiration(lease.Expiration);
            systemd.Status($"{lease.Subnet}: {status.PeersProgrammed} peers, {status.Repairs} repairs");
        }

        if (plan.TrimHeap)
        {
            HeapTrim.IfDue();
            _activitySinceTrim = false;
        }

        return ValueTask.CompletedTask;
    }
}
