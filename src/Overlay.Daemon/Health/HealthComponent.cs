using Overlay.Daemon.Hosting;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Store;

namespace Overlay.Daemon.Health;

/// <summary>
/// The loop's own health: pets systemd's watchdog from inside the loop (so a stuck loop gets restarted),
/// keeps systemd's status line and the lease expiry in the metrics current, and gives memory back once
/// overlayd has been quiet after a burst of work of any kind (a start-up, a resync, a hundred lease changes).
/// </summary>
public sealed class HealthComponent(DaemonStatus status, SystemdNotify systemd, Func<OwnLease> own, TimeProvider time) : INodeComponent
{
    /// <summary>How often the housekeeping tick comes.</summary>
    public static readonly TimeSpan HousekeepingInterval = TimeSpan.FromSeconds(5);

    /// <summary>More allocated than this between two ticks means overlayd was busy (an idle tick allocates a few KiB).</summary>
    public const long BusyBytesPerTick = 512 * 1024;

    private long _allocatedAtTrim;
    private long _allocatedAtTick;
    private DateTimeOffset _lastBusy = time.GetUtcNow();

    public string Name => "health";

    public Triggers Wants => Triggers.Watchdog | Triggers.OwnLease | Triggers.Housekeeping;

    public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        DateTimeOffset now = time.GetUtcNow();
        long allocated = GC.GetTotalAllocatedBytes();
        if (batch.Has(Triggers.Housekeeping))
        {
            if (allocated - _allocatedAtTick > BusyBytesPerTick)
            {
                _lastBusy = now;
            }

            _allocatedAtTick = allocated;
        }

        PassPlan plan = PassPlanner.Plan(batch, new PlannerState(AllocatedSinceTrim: allocated - _allocatedAtTrim, QuietFor: now - _lastBusy));
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
            _allocatedAtTrim = GC.GetTotalAllocatedBytes();
        }

        return ValueTask.CompletedTask;
    }
}
