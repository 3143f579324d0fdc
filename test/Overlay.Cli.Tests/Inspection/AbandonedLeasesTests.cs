using Overlay.Cli.Commands;
using Overlay.Cli.Inspection;
using Overlay.Core.Leases;

namespace Overlay.Cli.Tests.Inspection;

public sealed class AbandonedLeasesTests
{
    private static readonly TimeSpan Margin = TimeSpan.FromMinutes(60);

    private static IReadOnlyList<AbandonedLease> Find(IReadOnlyList<Lease> leases, params string[] named) =>
        AbandonedLeases.Find(leases, Cli.Now, Margin, named.Select(SubnetArgument.Parse).ToList());

    [Test]
    public void A_lease_renewed_on_time_is_not_abandoned()
    {
        Lease fresh = Samples.Lease("198.18.1.0-24", "192.0.2.1", "0e:00:00:00:00:01", "node-1", TimeSpan.FromHours(23));
        Assert.That(Find([fresh]), Is.Empty);
    }

    [Test]
    public void A_lease_with_less_time_left_than_the_renew_margin_missed_its_renewal()
    {
        Lease late = Samples.Lease("198.18.1.0-24", "192.0.2.1", "0e:00:00:00:00:01", "node-1", TimeSpan.FromMinutes(59));

        AbandonedLease found = Find([late]).Single();

        Assert.That(found.Lease, Is.EqualTo(late));
        Assert.That(found.Reasons, Is.EqualTo(new[] { "59m left, less than the renew margin 1h: its owner missed its renewal" }));
    }

    [Test]
    public void A_lease_etcd_reports_no_time_left_for_is_abandoned()
    {
        Lease gone = Samples.Lease("198.18.1.0-24", "192.0.2.1", null, null, TimeSpan.FromHours(1)) with { Expiration = null };
        Assert.That(Find([gone]).Single().Reasons, Is.EqualTo(new[] { "etcd reports no time left on its etcd lease" }));
    }

    [Test]
    public void Of_several_leases_of_one_owner_only_the_most_recently_renewed_is_kept()
    {
        Lease older = Samples.Lease("198.18.1.0-24", "192.0.2.1", "0e:00:00:00:00:01", "node-1", TimeSpan.FromHours(20));
        Lease newer = Samples.Lease("198.18.2.0-24", "192.0.2.1", "0e:00:00:00:00:01", "node-1", TimeSpan.FromHours(23));

        AbandonedLease found = Find([newer, older]).Single();

        Assert.That(found.Lease, Is.EqualTo(older));
        Assert.That(found.Reasons, Is.EqualTo(new[] { "owner node-1 also holds 198.18.2.0/24, renewed more recently" }), "one reason, not one per matching attribute");
    }

    [Test]
    public void Of_several_leases_with_one_public_IP_only_the_most_recently_renewed_is_kept()
    {
        Lease flannels = Samples.Lease("198.18.1.0-24", "192.0.2.1", "0e:00:00:00:00:01", null, TimeSpan.FromHours(20));
        Lease reinstalled = Samples.Lease("198.18.2.0-24", "192.0.2.1", "0e:00:00:00:00:02", "node-1b", TimeSpan.FromHours(23));

        AbandonedLease found = Find([flannels, reinstalled]).Single();

        Assert.That(found.Lease, Is.EqualTo(flannels));
        Assert.That(found.Reasons.Single(), Is.EqualTo("public IP 192.0.2.1 also holds 198.18.2.0/24, renewed more recently"));
    }

    [Test]
    public void A_reservation_is_never_abandoned_unless_named()
    {
        Lease reservation = Samples.Reservation("198.18.1.0-24", "192.0.2.1", owner: "node-1");
        Lease lease = Samples.Lease("198.18.2.0-24", "192.0.2.1", "0e:00:00:00:00:01", "node-1", TimeSpan.FromMinutes(5));

        Assert.That(Find([reservation, lease]).Select(a => a.Lease), Is.EqualTo(new[] { lease }));
        Assert.That(Find([reservation, lease], "198.18.1.0/24").Select(a => a.Lease), Is.EqualTo(new[] { reservation, lease }));
    }

    [Test]
    public void A_named_subnet_is_a_candidate_with_every_reason_that_applies()
    {
        Lease late = Samples.Lease("198.18.1.0-24", "192.0.2.1", null, null, TimeSpan.FromMinutes(10));

        Assert.That(Find([late], "198.18.1.0-24").Single().Reasons, Is.EqualTo(new[]
        {
            "named on the command line",
            "10m left, less than the renew margin 1h: its owner missed its renewal",
        }));
    }
}
