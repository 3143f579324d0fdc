using Overlay.Core.Leases;
using Overlay.Daemon.Reconciliation;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Tests.Reconciliation;

public class SkippedLeaseReportsTests
{
    private static readonly SkippedLease Waiting = new(SubnetKey.Parse("198.18.9.0-24"), "reserved for 192.0.2.19, whose node has not written its VtepMAC yet", AwaitingNode: true);
    private static readonly SkippedLease Broken = new(SubnetKey.Parse("198.18.7.0-24"), "has backend type 'udp', not vxlan");

    [Test]
    public void A_lease_skipped_for_the_same_reason_on_every_pass_is_reported_once()
    {
        var reports = new SkippedLeaseReports();

        IReadOnlyList<SkippedLease> first = reports.ToReport([Waiting, Broken]);
        IReadOnlyList<SkippedLease> later = [.. Enumerable.Range(0, 5).SelectMany(_ => reports.ToReport([Waiting, Broken]))];

        Assert.That(first, Is.EqualTo(new[] { Waiting, Broken }));
        Assert.That(later, Is.Empty);
    }

    [Test]
    public void A_new_reason_for_the_same_lease_is_reported()
    {
        var reports = new SkippedLeaseReports();
        reports.ToReport([Waiting]);
        SkippedLease badMac = Waiting with { Reason = "has no valid VtepMAC ('0e:00')", AwaitingNode = false };

        Assert.That(reports.ToReport([badMac]), Is.EqualTo(new[] { badMac }));
    }

    [Test]
    public void A_lease_programmed_in_between_is_reported_again_when_it_is_skipped_again()
    {
        var reports = new SkippedLeaseReports();
        reports.ToReport([Broken]);
        reports.ToReport([]);

        Assert.That(reports.ToReport([Broken]), Is.EqualTo(new[] { Broken }));
    }

    [Test]
    public void The_IPv6_half_of_a_lease_is_reported_apart_from_its_IPv4_half()
    {
        var reports = new SkippedLeaseReports();
        SkippedLease v6 = Broken with { Family = System.Net.Sockets.AddressFamily.InterNetworkV6 };

        Assert.That(reports.ToReport([Broken, v6]), Has.Count.EqualTo(2));
        Assert.That(reports.ToReport([Broken, v6]), Is.Empty);
    }
}
