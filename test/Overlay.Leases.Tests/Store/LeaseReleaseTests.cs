using Overlay.Core.Allocation;
using Overlay.Leases.Store;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Store;

public sealed class LeaseReleaseTests : EtcdFixture
{
    [Test]
    public async Task Release_if_unchanged_deletes_only_a_lease_not_written_since_it_was_listed()
    {
        NodeIdentity a = Node(1);
        NodeIdentity b = Node(2);
        OwnLease leaseA = await Store.AcquireAsync(Config(), a, Attributes(a), null, CancellationToken.None);
        OwnLease leaseB = await Store.AcquireAsync(Config(), b, Attributes(b), null, CancellationToken.None);
        LeaseSnapshot shown = await Store.ListAsync(withExpiration: false, CancellationToken.None);
        await Store.RenewAsync(leaseB, CancellationToken.None);

        ReleaseOutcome released = await Store.ReleaseIfUnchangedAsync(leaseA.Subnet, shown.Revision, CancellationToken.None);
        ReleaseOutcome renewed = await Store.ReleaseIfUnchangedAsync(leaseB.Subnet, shown.Revision, CancellationToken.None);
        ReleaseOutcome missing = await Store.ReleaseIfUnchangedAsync(leaseA.Subnet, shown.Revision, CancellationToken.None);

        Assert.That((released, renewed, missing), Is.EqualTo((ReleaseOutcome.Released, ReleaseOutcome.ChangedSince, ReleaseOutcome.Missing)));
        Assert.That(Stored(Etcd, SubnetsPrefix).Select(k => k.Key), Is.EqualTo(new[] { leaseB.Subnet.ToEtcdKey(Prefix) }));
    }
}
