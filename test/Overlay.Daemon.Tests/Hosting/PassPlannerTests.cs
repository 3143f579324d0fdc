using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Watching;

namespace Overlay.Daemon.Tests.Hosting;

public class PassPlannerTests
{
    private static readonly PlannerState Quiet = new(QuietFor: TimeSpan.Zero);

    private static LeaseUpdate Update() => new([], [], Revision: 1, IsResync: false);

    [Test]
    public void A_plain_lease_change_touches_only_the_changed_leases_and_repairs_nothing()
    {
        PassPlan plan = PassPlanner.Plan(Triggers.Leases, Quiet, hasLeaseUpdates: true);

        Assert.That(plan.Reconcile, Is.EqualTo(ReconcileMode.LeaseChanges));
        Assert.That(plan.CountRepairs, Is.False);
        Assert.That(plan.CheckDevices, Is.False);
    }

    [Test]
    public void A_lease_update_that_came_from_a_full_list_compares_everything()
    {
        PassPlan plan = PassPlanner.Plan(Triggers.Leases, Quiet, hasLeaseUpdates: true, anyLeaseResync: true);

        Assert.That(plan.Reconcile, Is.EqualTo(ReconcileMode.Full));
        Assert.That(plan.CountRepairs, Is.False, "a relist is not drift of the kernel");
    }

    [Test]
    public void A_leases_trigger_without_updates_compares_everything()
    {
        Assert.That(PassPlanner.Plan(Triggers.Leases, Quiet).Reconcile, Is.EqualTo(ReconcileMode.Full));
    }

    [Test]
    public void The_end_of_a_departed_peers_grace_touches_only_that_lease_and_with_lease_changes_stays_plain()
    {
        Assert.That(PassPlanner.Plan(Triggers.Departures, Quiet).Reconcile, Is.EqualTo(ReconcileMode.LeaseChanges));
        Assert.That(PassPlanner.Plan(Triggers.Departures, Quiet).CountRepairs, Is.False);
        Assert.That(PassPlanner.Plan(Triggers.Departures | Triggers.Leases, Quiet, hasLeaseUpdates: true).Reconcile, Is.EqualTo(ReconcileMode.LeaseChanges));
        Assert.That(PassPlanner.Plan(Triggers.Departures | Triggers.Kernel, Quiet).Reconcile, Is.EqualTo(ReconcileMode.Full));
        Assert.That(PassPlanner.Plan(Triggers.Departures | Triggers.Leases, Quiet, hasLeaseUpdates: true, anyLeaseResync: true).Reconcile, Is.EqualTo(ReconcileMode.Full));
    }

    [TestCase(Triggers.Kernel)]
    [TestCase(Triggers.Device)]
    [TestCase(Triggers.Resync)]
    [TestCase(Triggers.DeviceRebuilt)]
    [TestCase(Triggers.Retry)]
    public void Drift_compares_everything_and_counts_what_it_changes_as_repairs(Triggers drift)
    {
        PassPlan plan = PassPlanner.Plan(drift, Quiet);

        Assert.That(plan.Reconcile, Is.EqualTo(ReconcileMode.Full));
        Assert.That(plan.CountRepairs, Is.True);
    }

    [Test]
    public void Drift_that_arrived_during_a_pass_with_lease_changes_turns_the_next_pass_into_a_full_one()
    {
        // Kernel deletions queued while a lease change was being applied coalesce with the next lease change.
        var batch = TriggerBatch.Of(new Trigger(Triggers.Leases, Update()), new Trigger(Triggers.Kernel), new Trigger(Triggers.Leases, Update()));

        PassPlan plan = PassPlanner.Plan(batch, Quiet);

        Assert.That(plan.Reconcile, Is.EqualTo(ReconcileMode.Full));
        Assert.That(plan.CountRepairs, Is.True);
        Assert.That(batch.LeaseUpdates, Has.Count.EqualTo(2));
    }

    [Test]
    public void Several_plain_lease_changes_coalesce_into_one_lease_change_pass()
    {
        var batch = TriggerBatch.Of(new Trigger(Triggers.Leases, Update(), 7), new Trigger(Triggers.Leases, Update(), 9));

        Assert.That(PassPlanner.Plan(batch, Quiet).Reconcile, Is.EqualTo(ReconcileMode.LeaseChanges));
        Assert.That(batch.OldestUpdateAt, Is.EqualTo(7));
    }

    [TestCase(Triggers.Device, true)]
    [TestCase(Triggers.Resync, true)]
    [TestCase(Triggers.Retry, true)]
    [TestCase(Triggers.Kernel, false)]
    [TestCase(Triggers.Leases, false)]
    [TestCase(Triggers.DeviceRebuilt, false)]
    public void Devices_are_checked_on_device_events_the_periodic_resync_and_retries(Triggers kind, bool checks)
    {
        Assert.That(PassPlanner.Plan(kind, Quiet).CheckDevices, Is.EqualTo(checks));
    }

    [Test]
    public void A_moved_own_lease_is_followed_everywhere_and_compares_everything()
    {
        PassPlan plan = PassPlanner.Plan(Triggers.OwnLease, new PlannerState(OwnLeaseMoved: true, RulesManaged: true));

        Assert.That(plan.FollowOwnLease, Is.True);
        Assert.That(plan.CheckDevices, Is.True, "the device gets the new subnet's address");
        Assert.That(plan.ApplyRules, Is.True);
        Assert.That(plan.WriteSubnetFile, Is.True);
        Assert.That(plan.Reconcile, Is.EqualTo(ReconcileMode.Full));
        Assert.That(plan.CountRepairs, Is.False, "moving to a new subnet is not a repair");
    }

    [Test]
    public void A_renewed_own_lease_that_did_not_move_only_refreshes_the_status_and_compares_the_peers()
    {
        PassPlan plan = PassPlanner.Plan(Triggers.OwnLease, new PlannerState(OwnLeaseMoved: false, RulesManaged: true));

        Assert.That(plan.FollowOwnLease, Is.False);
        Assert.That(plan.ApplyRules, Is.False);
        Assert.That(plan.WriteSubnetFile, Is.False);
        Assert.That(plan.CheckDevices, Is.False);
        Assert.That(plan.UpdateStatus, Is.True);
        Assert.That(plan.Reconcile, Is.EqualTo(ReconcileMode.Full));
    }

    [Test]
    public void An_own_lease_change_together_with_lease_changes_is_never_applied_as_a_plain_lease_change()
    {
        var batch = TriggerBatch.Of(new Trigger(Triggers.Leases, Update()), new Trigger(Triggers.OwnLease));

        Assert.That(PassPlanner.Plan(batch, new PlannerState(OwnLeaseMoved: true)).Reconcile, Is.EqualTo(ReconcileMode.Full));
    }

    [Test]
    public void The_rules_tick_checks_the_tables_only_when_some_table_is_kept()
    {
        Assert.That(PassPlanner.Plan(Triggers.Rules, new PlannerState(RulesManaged: true)).CheckRules, Is.True);
        Assert.That(PassPlanner.Plan(Triggers.Rules, new PlannerState(RulesManaged: false)).CheckRules, Is.False);
    }

    [Test]
    public void A_failed_rules_pass_is_retried_by_applying_the_plan_again_not_by_checking_it()
    {
        PassPlan plan = PassPlanner.Plan(Triggers.Rules | Triggers.Retry, new PlannerState(RulesManaged: false));

        Assert.That(plan.ApplyRules, Is.True, "a table left by an earlier run must still be removed");
        Assert.That(plan.CheckRules, Is.False);
        Assert.That(plan.WriteSubnetFile, Is.True);
    }

    [TestCase(Triggers.Rules)]
    [TestCase(Triggers.Watchdog)]
    [TestCase(Triggers.Rules | Triggers.Watchdog)]
    [TestCase(Triggers.Housekeeping)]
    public void Housekeeping_only_wake_ups_touch_neither_devices_nor_peers(Triggers kinds)
    {
        PassPlan plan = PassPlanner.Plan(kinds, new PlannerState(RulesManaged: true));

        Assert.That(plan.Reconcile, Is.EqualTo(ReconcileMode.None));
        Assert.That(plan.CheckDevices, Is.False);
        Assert.That(plan.CountRepairs, Is.False);
        Assert.That(plan.ApplyRules, Is.False);
        Assert.That(plan.WriteSubnetFile, Is.False);
    }

    [Test]
    public void The_watchdog_is_petted_whatever_else_a_pass_does()
    {
        Assert.That(PassPlanner.Plan(Triggers.Watchdog, Quiet).PetWatchdog, Is.True);
        Assert.That(PassPlanner.Plan(Triggers.Watchdog | Triggers.Kernel, Quiet).PetWatchdog, Is.True);
        Assert.That(PassPlanner.Plan(Triggers.Kernel, Quiet).PetWatchdog, Is.False);
    }

    [Test]
    public void Memory_is_given_back_once_things_have_been_quiet_after_work()
    {
        TimeSpan quiet = PassPlanner.QuietPeriod;
        const long work = PassPlanner.TrimAfterBytes;

        Assert.That(PassPlanner.Plan(Triggers.Housekeeping, new PlannerState(AllocatedSinceTrim: work, QuietFor: quiet)).TrimHeap, Is.True);
        Assert.That(PassPlanner.Plan(Triggers.Housekeeping, new PlannerState(AllocatedSinceTrim: work, QuietFor: quiet - TimeSpan.FromMilliseconds(1))).TrimHeap, Is.False, "still busy");
        Assert.That(PassPlanner.Plan(Triggers.Housekeeping, new PlannerState(AllocatedSinceTrim: work - 1, QuietFor: quiet * 10)).TrimHeap, Is.False, "too little done since the last trim");
        Assert.That(PassPlanner.Plan(Triggers.Watchdog | Triggers.OwnLease, new PlannerState(AllocatedSinceTrim: work, QuietFor: quiet)).TrimHeap, Is.False, "only the housekeeping tick trims");
    }

    [Test]
    public void Every_combination_of_triggers_gets_a_plan_consistent_with_its_parts()
    {
        // Exhaustive over all 2^12 combinations (services and pods included) and the state flags: the rules every plan must keep.
        const int all = (int)Triggers.PodFiles << 1;
        for (int bits = 0; bits < all; bits++)
        {
            var kinds = (Triggers)bits;
            foreach (bool moved in new[] { false, true })
            {
                foreach (bool updates in new[] { false, true })
                {
                    PassPlan plan = PassPlanner.Plan(kinds, new PlannerState(OwnLeaseMoved: moved, RulesManaged: true), hasLeaseUpdates: updates);
                    bool peers = (kinds & PassPlanner.PeerTriggers) != 0;
                    Assert.That(plan.Reconcile != ReconcileMode.None, Is.EqualTo(peers), $"{kinds}: reconcile only for peer triggers");
                    Assert.That(plan.Reconcile == ReconcileMode.LeaseChanges, Is.EqualTo((kinds & PassPlanner.PeerTriggers) == Triggers.Leases && updates), $"{kinds}: lease-change path");
                    Assert.That(plan.CountRepairs, Is.EqualTo((kinds & PassPlanner.Drift) != 0), $"{kinds}: repairs only for drift");
                    Assert.That(plan.CheckRules && plan.ApplyRules, Is.False, $"{kinds}: apply makes a check pointless");
                    Assert.That(plan.FollowOwnLease, Is.EqualTo(moved && kinds.HasFlag(Triggers.OwnLease)), $"{kinds}");
                    Assert.That(plan.ApplyServices || plan.ReloadServices || plan.CheckServices || plan.CheckServicesComplete, Is.False, $"{kinds}: no service network, no service rules");

                    PassPlan served = PassPlanner.Plan(kinds, new PlannerState(OwnLeaseMoved: moved, ServicesManaged: true, ServicesCompleteCheckDue: true), hasLeaseUpdates: updates);
                    Assert.That(served.ReloadServices, Is.EqualTo(kinds.HasFlag(Triggers.Retry)), $"{kinds}: reload only to retry");
                    Assert.That(served.ReloadServices && (served.ApplyServices || served.CheckServices || served.CheckServicesComplete), Is.False, $"{kinds}: a reload makes deltas and checks pointless");
                    Assert.That(served.ApplyServices, Is.EqualTo((kinds.HasFlag(Triggers.Services) || (moved && kinds.HasFlag(Triggers.OwnLease))) && !kinds.HasFlag(Triggers.Retry)), $"{kinds}: deltas for registry updates and a moved lease");
                }
            }
        }
    }

    [Test]
    public void A_registry_update_applies_the_difference_to_the_service_rules()
    {
        PassPlan plan = PassPlanner.Plan(Triggers.Services, new PlannerState(ServicesManaged: true));

        Assert.That(plan.ApplyServices, Is.True);
        Assert.That(plan.ReloadServices || plan.CheckServices || plan.CheckServicesComplete, Is.False);
        Assert.That(plan.Reconcile, Is.EqualTo(ReconcileMode.None), "services never touch the peers' entries");
    }

    [Test]
    public void The_rules_tick_checks_the_service_canary_and_the_resync_the_whole_table_only_when_due()
    {
        var managed = new PlannerState(ServicesManaged: true);

        Assert.That(PassPlanner.Plan(Triggers.Rules, managed).CheckServices, Is.True);
        Assert.That(PassPlanner.Plan(Triggers.Resync, managed).CheckServicesComplete, Is.False, "not due yet");
        Assert.That(PassPlanner.Plan(Triggers.Resync, managed with { ServicesCompleteCheckDue = true }).CheckServicesComplete, Is.True);
    }

    [Test]
    public void A_failed_service_pass_is_retried_by_loading_the_rules_whole()
    {
        PassPlan plan = PassPlanner.Plan(Triggers.Retry | Triggers.Services, new PlannerState(ServicesManaged: true));

        Assert.That(plan.ReloadServices, Is.True);
        Assert.That(plan.ApplyServices, Is.False, "the reload includes the changes");
    }

    [Test]
    public void Pods_are_published_when_the_pods_folder_changed_the_own_lease_moved_or_a_pass_failed()
    {
        Assert.That(PassPlanner.Plan(Triggers.PodFiles, Quiet).PublishPods, Is.True);
        Assert.That(PassPlanner.Plan(Triggers.OwnLease, new PlannerState(OwnLeaseMoved: true)).PublishPods, Is.True, "a new node value");
        Assert.That(PassPlanner.Plan(Triggers.Retry, Quiet).PublishPods, Is.True);
        Assert.That(PassPlanner.Plan(Triggers.OwnLease, Quiet).PublishPods, Is.False, "a renewal changes nothing for the pods");
    }
}
