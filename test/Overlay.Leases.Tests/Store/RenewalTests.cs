using Overlay.Core.Allocation;
using Overlay.Core.Leases;
using Overlay.Leases.Store;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Store;

public sealed class RenewalTests : EtcdFixture
{
    [Test]
    public async Task Renewal_puts_the_key_again_with_a_fresh_etcd_lease()
    {
        NodeIdentity node = Node(1);
        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        OwnLease renewed = await Store.RenewAsync(own, CancellationToken.None);

        StoredKey stored = StoredLease(Etcd, Prefix, own.Subnet)!;
        Assert.That(renewed.Lease.EtcdLeaseId, Is.Not.EqualTo(own.Lease.EtcdLeaseId));
        Assert.That(stored.Lease, Is.EqualTo(renewed.Lease.EtcdLeaseId));
        Assert.That(stored.ModRevision, Is.EqualTo(renewed.ModRevision));
        Assert.That(LeaseAttributes.Parse(stored.Value), Is.EqualTo(own.Lease.Attributes));
        Assert.That(renewed.Subnet, Is.EqualTo(own.Subnet));
    }

    [Test]
    public async Task Renewal_does_not_overwrite_a_lease_taken_by_another_node()
    {
        NodeIdentity node = Node(1);
        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
        // Our etcd lease expired while we were partitioned away, and node 2 took the subnet.
        Etcd.Etcdctl("lease", "revoke", own.Lease.EtcdLeaseId.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess();
        NodeIdentity other = Node(2);
        OwnLease theirs = await Store.AcquireAsync(Config(), other, Attributes(other), own.Subnet, CancellationToken.None);
        Assert.That(theirs.Subnet, Is.EqualTo(own.Subnet));

        var lost = Assert.ThrowsAsync<LeaseLostException>(() => Store.RenewAsync(own, CancellationToken.None));

        Assert.That(lost!.Message, Does.Contain("node-2"));
        StoredKey stored = StoredLease(Etcd, Prefix, own.Subnet)!;
        Assert.That(LeaseAttributes.Parse(stored.Value).OwnerId, Is.EqualTo("node-2"));
        Assert.That(stored.Lease, Is.EqualTo(theirs.Lease.EtcdLeaseId));
    }

    [Test]
    public async Task Renewal_does_not_overwrite_a_key_rewritten_by_hand_for_another_node()
    {
        NodeIdentity node = Node(1);
        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
        string foreign = Attributes(Node(3)).ToJson();
        Put(Etcd, own.Subnet.ToEtcdKey(Prefix), foreign);

        Assert.ThrowsAsync<LeaseLostException>(() => Store.RenewAsync(own, CancellationToken.None));

        Assert.That(StoredLease(Etcd, Prefix, own.Subnet)!.Value, Is.EqualTo(foreign));
    }

    [Test]
    public async Task Renewal_of_a_deleted_lease_reports_it_lost_and_writes_nothing()
    {
        NodeIdentity node = Node(1);
        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
        await Store.ReleaseAsync(own.Subnet, CancellationToken.None);

        Assert.ThrowsAsync<LeaseLostException>(() => Store.RenewAsync(own, CancellationToken.None));

        Assert.That(Stored(Etcd, SubnetsPrefix), Is.Empty);
    }

    [Test]
    public async Task Renewal_follows_a_key_still_carrying_our_owner_id()
    {
        // e.g. our own write whose answer was lost, or the previous run of this node.
        NodeIdentity node = Node(1);
        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
        OwnLease rewritten = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
        Assert.That(rewritten.ModRevision, Is.GreaterThan(own.ModRevision));

        OwnLease renewed = await Store.RenewAsync(own, CancellationToken.None);

        Assert.That(StoredLease(Etcd, Prefix, own.Subnet)!.Lease, Is.EqualTo(renewed.Lease.EtcdLeaseId));
    }
}
