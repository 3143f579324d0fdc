using System.Net;
using Overlay.Core.Leases;
using Overlay.Leases.Store;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Store;

public sealed class ListingTests : EtcdFixture
{
    [Test]
    public async Task Listing_in_small_pages_returns_every_lease_once_and_skips_bad_values_on_any_page()
    {
        for (int n = 1; n <= 23; n++)
        {
            Put(Etcd, Subnet($"198.18.{n}.0/24").ToEtcdKey(Prefix), Attributes(Node(n)).ToJson());
        }

        Put(Etcd, Subnet("198.18.30.0/24").ToEtcdKey(Prefix), "{not json");
        Put(Etcd, SubnetsPrefix + "not-a-subnet", "{}");
        var store = new LeaseStore(Session) { ListPageSize = 4 };

        LeaseSnapshot snapshot = await store.ListAsync(withExpiration: false, CancellationToken.None);

        Assert.That(snapshot.Leases.Select(l => l.Subnet), Is.EquivalentTo(Enumerable.Range(1, 23).Select(n => Subnet($"198.18.{n}.0/24"))));
        Assert.That(snapshot.Leases.Select(l => l.Attributes.PublicIP), Is.Unique);
        Assert.That(snapshot.Skipped.Select(s => s.Key), Is.EquivalentTo(new[]
        {
            Subnet("198.18.30.0/24").ToEtcdKey(Prefix),
            SubnetsPrefix + "not-a-subnet",
        }));
    }

    [Test]
    public async Task A_paged_listing_is_read_at_one_revision_the_one_etcd_had_when_it_started()
    {
        for (int n = 1; n <= 10; n++)
        {
            Put(Etcd, Subnet($"198.18.{n}.0/24").ToEtcdKey(Prefix), Attributes(Node(n)).ToJson());
        }

        long before = Stored(Etcd, SubnetsPrefix).Max(k => k.ModRevision);
        var store = new LeaseStore(Session) { ListPageSize = 3 };

        LeaseSnapshot snapshot = await store.ListAsync(withExpiration: false, CancellationToken.None);

        // Other tests share this etcd, so its revision may have moved on; it is never older than our last put.
        Assert.That(snapshot.Revision, Is.GreaterThanOrEqualTo(before));
        Assert.That(snapshot.Leases, Has.Count.EqualTo(10));
        Assert.That(snapshot.Leases.Select(l => l.Attributes.PublicAddress), Is.EquivalentTo(Enumerable.Range(1, 10).Select(n => IPAddress.Parse($"192.0.2.{n}"))));
    }

    [Test]
    public async Task An_empty_prefix_lists_nothing()
    {
        var store = new LeaseStore(Session) { ListPageSize = 2 };

        LeaseSnapshot snapshot = await store.ListAsync(withExpiration: false, CancellationToken.None);

        Assert.That(snapshot.Leases, Is.Empty);
        Assert.That(snapshot.Skipped, Is.Empty);
    }
}
