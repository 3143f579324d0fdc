namespace Overlay.Daemon.Hosting.Loop;

/// <summary>How much of the kernel a pass compares.</summary>
public enum ReconcileMode
{
    /// <summary>Nothing to reconcile.</summary>
    None,

    /// <summary>Only the entries of the leases that changed (the <c>PeerIndex</c> path; it may fall back to <see cref="Full"/>).</summary>
    LeaseChanges,

    /// <summary>Every lease against a fresh dump of the kernel.</summary>
    Full,
}

/// <summary>What the state outside the triggers says.</summary>
/// <param name="OwnLeaseMoved">The keeper holds a different subnet from the one the component last acted on.</param>
/// <param name="RulesManaged">Some nftables table is kept (<c>--ip-masq</c> or <c>--iptables-forward-rules</c>).</param>
/// <param name="AllocatedSinceTrim">Bytes overlayd allocated since memory was last given back: how much work was done.</param>
/// <param name="QuietFor">How long overlayd has allocated little: the burst of work is over.</param>
/// <param name="ServicesManaged">The config has a service network, so overlayd keeps the service rules.</param>
/// <param name="ServicesCompleteCheckDue">The slow, complete check of the service rules has not run for its interval.</param>
public readonly record struct PlannerState(
    bool OwnLeaseMoved = false,
    bool RulesManaged = false,
    long AllocatedSinceTrim = 0,
    TimeSpan QuietFor = default,
    bool ServicesManaged = false,
    bool ServicesCompleteCheckDue = false);

/// <summary>What one pass does; each component carries out its own part.</summary>
public readonly record struct PassPlan
{
    /// <summary>Tell systemd the loop is alive.</summary>
    public bool PetWatchdog { get; init; }

    /// <summary>The own lease moved: new device addresses, rules, subnet.env.</summary>
    public bool FollowOwnLease { get; init; }

    /// <summary>Check the VXLAN devices: recreate a deleted one, set a changed MAC back, ensure the addresses.</summary>
    public bool CheckDevices { get; init; }

    public ReconcileMode Reconcile { get; init; }

    /// <summary>The changes this pass makes repair drift, so they count in <c>overlay_repairs_total</c>.</summary>
    public bool CountRepairs { get; init; }

    /// <summary>Check that the nftables tables are intact, and restore them if not.</summary>
    public bool CheckRules { get; init; }

    /// <summary>Apply the nftables plan now (a new lease, or a failed apply to retry).</summary>
    public bool ApplyRules { get; init; }

    /// <summary>Write subnet.env if its content changed.</summary>
    public bool WriteSubnetFile { get; init; }

    /// <summary>Refresh the systemd status line and the lease expiry in the metrics.</summary>
    public bool UpdateStatus { get; init; }

    /// <summary>Things are quiet after activity: give memory the burst left committed back.</summary>
    public bool TrimHeap { get; init; }

    /// <summary>The service registry changed, or the own lease moved (the hairpin set follows the node's subnet): apply the difference to the service rules.</summary>
    public bool ApplyServices { get; init; }

    /// <summary>Forget what the service rules were and load them whole (a failed pass, or a check found them changed).</summary>
    public bool ReloadServices { get; init; }

    /// <summary>The cheap canary check of the service rules (milliseconds at any number of services).</summary>
    public bool CheckServices { get; init; }

    /// <summary>The slow check that every element of the service rules is there.</summary>
    public bool CheckServicesComplete { get; init; }

    /// <summary>Make etcd hold the pods folder's pods (with this node's current subnet as their node).</summary>
    public bool PublishPods { get; init; }
}

/// <summary>
/// The decision of what a pass does, from the coalesced triggers and a little state. Pure, so that every
/// combination is tested without root or etcd; the components only carry the plan out.
/// </summary>
public static class PassPlanner
{
    /// <summary>How long overlayd must have been quiet before memory is given back.</summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(3);

    /// <summary>Allocations since the last trim that make another worth a look (a resync at 5,000 peers is several MiB).</summary>
    public const long TrimAfterBytes = 1024 * 1024;

    /// <summary>Triggers saying the kernel may differ from what overlayd last wrote: what a pass changes is a repair.</summary>
    public const Triggers Drift = Triggers.Kernel | Triggers.Device | Triggers.Resync | Triggers.DeviceRebuilt | Triggers.Retry;

    /// <summary>Triggers that call for comparing the peers' entries at all.</summary>
    public const Triggers PeerTriggers = Triggers.Leases | Triggers.OwnLease | Triggers.Departures | Drift;

    public static PassPlan Plan(TriggerBatch batch, PlannerState state) =>
        Plan(batch.Kinds, state, batch.LeaseUpdates.Count > 0, batch.AnyLeaseResync);

    /// <param name="hasLeaseUpdates">The batch carries lease updates.</param>
    /// <param name="anyLeaseResync">One of them came from a full list (start, compaction, reconnect gap).</param>
    public static PassPlan Plan(Triggers kinds, PlannerState state, bool hasLeaseUpdates = false, bool anyLeaseResync = false)
    {
        bool drift = (kinds & Drift) != 0;
        bool follow = (kinds & Triggers.OwnLease) != 0 && state.OwnLeaseMoved;
        bool retry = (kinds & Triggers.Retry) != 0;

        ReconcileMode reconcile = ReconcileMode.None;
        Triggers peerKinds = kinds & PeerTriggers;
        if (peerKinds != 0)
        {
            // A plain lease change (or a departed peer's grace ending) touches only that lease's entries; anything
            // else compares everything.
            bool plainLeaseChange = !anyLeaseResync
                && (peerKinds & ~(Triggers.Leases | Triggers.Departures)) == 0
                && ((peerKinds & Triggers.Leases) == 0 || hasLeaseUpdates);
            reconcile = plainLeaseChange ? ReconcileMode.LeaseChanges : ReconcileMode.Full;
        }

        bool services = state.ServicesManaged;
        bool reloadServices = services && retry;
        return new PassPlan
        {
            PetWatchdog = (kinds & Triggers.Watchdog) != 0,
            FollowOwnLease = follow,
            CheckDevices = (kinds & (Triggers.Device | Triggers.Resync | Triggers.Retry)) != 0 || follow,
            Reconcile = reconcile,
            CountRepairs = drift && reconcile != ReconcileMode.None,
            CheckRules = (kinds & Triggers.Rules) != 0 && state.RulesManaged && !(follow || retry),
            ApplyRules = follow || retry,
            WriteSubnetFile = follow || retry,
            UpdateStatus = (kinds & (Triggers.OwnLease | Triggers.Housekeeping)) != 0,
            TrimHeap = (kinds & Triggers.Housekeeping) != 0 && state.AllocatedSinceTrim >= TrimAfterBytes && state.QuietFor >= QuietPeriod,
            ApplyServices = services && !reloadServices && ((kinds & Triggers.Services) != 0 || follow),
            ReloadServices = reloadServices,
            CheckServices = services && !reloadServices && (kinds & Triggers.Rules) != 0,
            CheckServicesComplete = services && !reloadServices && (kinds & Triggers.Resync) != 0 && state.ServicesCompleteCheckDue,
            PublishPods = (kinds & Triggers.PodFiles) != 0 || follow || retry,
        };
    }
}
