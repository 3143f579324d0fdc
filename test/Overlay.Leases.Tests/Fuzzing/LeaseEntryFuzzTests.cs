using Overlay.TestKit;

namespace Overlay.Leases.Tests.Fuzzing;

/// <summary>
/// Raw etcd entries, as the store's list and the watcher read them, are leases or skipped entries with a reason.
/// That the store and watcher then log and skip them and go on is shown against a real etcd by
/// ListingTests.Listing_in_small_pages_returns_every_lease_once_and_skips_bad_values_on_any_page and
/// LeaseWatcherTests.Malformed_keys_and_values_are_skipped_and_the_watch_goes_on.
/// </summary>
public class LeaseEntryFuzzTests
{
    [Test]
    public void Raw_etcd_entries_are_leases_or_skipped_with_a_reason_never_an_exception()
    {
        FuzzReport report = FuzzCampaign.Run(LeaseEntryFuzzTarget.Entries, seed: 1407, iterations: 10_000);
        TestContext.Out.WriteLine(report);

        Assert.That(report.Findings, Is.Empty, report.ToString());
        Assert.That(report.Accepted, Is.GreaterThan(200));
        Assert.That(report.Rejected, Is.GreaterThan(200));
    }
}
