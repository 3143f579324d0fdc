using Overlay.Core.Leases;
using Overlay.Daemon.Reconciliation;
using static Overlay.Daemon.Tests.Reconciliation.DesiredStateTests;

namespace Overlay.Daemon.Tests.Reconciliation;

public class DepartureGraceTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly Lease Two = LeaseOf("198.18.2.0-24", "192.0.2.12");
    private static readonly Lease Three = LeaseOf("198.18.3.0-24", "192.0.2.13", mac: "0e:00:00:00:00:03");

    [Test]
    public void A_lease_that_left_is_still_programmed_during_its_grace_and_removed_when_it_ends()
    {
        var grace = new DepartureGrace(TimeSpan.FromSeconds(2));
        grace.Depart(Three, Own, T0);

        Assert.That(grace.Effective([Two], Own), Is.EquivalentTo(new[] { Two, Three }));
        Assert.That(grace.NextExpiry, Is.EqualTo(T0.AddSeconds(2)));
        Assert.That(grace.TakeExpired(T0.AddSeconds(1.9)), Is.Empty);
        Assert.That(grace.TakeExpired(T0.AddSeconds(2)), Is.EqualTo(new[] { Three.Subnet }));
        Assert.That(grace.Effective([Two], Own), Is.EqualTo(new[] { Two }));
        Assert.That(grace.NextExpiry, Is.Null);
    }

    [Test]
    public void A_lease_put_back_within_its_grace_is_released_and_the_new_value_is_what_is_programmed()
    {
        var grace = new DepartureGrace(TimeSpan.FromSeconds(2));
        grace.Depart(Three, Own, T0);
        Lease threeMoved = LeaseOf("198.18.3.0-24", "192.0.2.23", mac: "0e:00:00:00:00:33");

        grace.Return(threeMoved.Subnet);

        Assert.That(grace.IsHeld(Three.Subnet), Is.False);
        Assert.That(grace.Effective([Two, threeMoved], Own), Is.EqualTo(new[] { Two, threeMoved }));
        Assert.That(grace.TakeExpired(T0.AddSeconds(5)), Is.Empty, "nothing left to remove");
    }

    [Test]
    public void A_lease_held_already_keeps_its_first_deadline_when_it_departs_again()
    {
        var grace = new DepartureGrace(TimeSpan.FromSeconds(2));
        grace.Depart(Three, Own, T0);
        grace.Depart(Three, Own, T0.AddSeconds(1.5));

        Assert.That(grace.NextExpiry, Is.EqualTo(T0.AddSeconds(2)));
    }

    [Test]
    public void The_nodes_own_lease_is_never_held()
    {
        var grace = new DepartureGrace(TimeSpan.FromSeconds(2));
        Lease own = LeaseOf(Own.ToString(), "192.0.2.11");

        grace.Depart(own, Own, T0);

        Assert.That(grace.Count, Is.Zero);
    }

    [Test]
    public void A_held_lease_overlapping_a_current_one_is_left_out_at_once()
    {
        var grace = new DepartureGrace(TimeSpan.FromSeconds(2));
        grace.Depart(Three, Own, T0);
        Lease wider = LeaseOf("198.18.2.0-23", "192.0.2.14", mac: "0e:00:00:00:00:04");

        Assert.That(grace.Effective([wider], Own), Is.EqualTo(new[] { wider }), "198.18.2.0/23 covers the held 198.18.3.0/24");
    }

    [Test]
    public void A_grace_of_zero_is_refused()
    {
        Assert.That(() => new DepartureGrace(TimeSpan.Zero), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }
}
