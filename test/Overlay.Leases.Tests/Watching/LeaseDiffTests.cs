using Overlay.Core.Leases;
using Overlay.Leases.Watching;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Watching;

public sealed class LeaseDiffTests
{
    private static Lease Lease(string cidr, int node, long etcdLease = 7) => new(Subnet(cidr), Attributes(Node(node)), etcdLease);

    [Test]
    public void The_diff_of_two_lease_sets_has_adds_removes_and_changes()
    {
        Lease kept = Lease("198.18.1.0/24", 1);
        Lease before = Lease("198.18.2.0/24", 2);
        Lease after = Lease("198.18.2.0/24", 22);
        Lease gone = Lease("198.18.3.0/24", 3);
        Lease added = Lease("198.18.4.0/24", 4);

        IReadOnlyList<LeaseChange> changes = LeaseDiff.Between(
            new[] { kept, before, gone }.ToDictionary(l => l.Subnet),
            new[] { kept, after, added }.ToDictionary(l => l.Subnet));

        Assert.That(changes, Is.EquivalentTo(new[]
        {
            new LeaseChange(LeaseChangeKind.Changed, after.Subnet, after, before),
            new LeaseChange(LeaseChangeKind.Removed, gone.Subnet, null, gone),
            new LeaseChange(LeaseChangeKind.Added, added.Subnet, added, null),
        }));
    }

    [Test]
    public void A_new_etcd_lease_for_the_same_value_is_a_change()
    {
        Lease old = Lease("198.18.1.0/24", 1, etcdLease: 7);
        Lease renewed = Lease("198.18.1.0/24", 1, etcdLease: 8);

        IReadOnlyList<LeaseChange> changes = LeaseDiff.Between(
            new Dictionary<SubnetKey, Lease> { [old.Subnet] = old },
            new Dictionary<SubnetKey, Lease> { [renewed.Subnet] = renewed });

        Assert.That(changes.Single().Kind, Is.EqualTo(LeaseChangeKind.Changed));
    }

    [Test]
    public void Identical_sets_have_no_difference() =>
        Assert.That(LeaseDiff.Between(
            new Dictionary<SubnetKey, Lease> { [Subnet("198.18.1.0/24")] = Lease("198.18.1.0/24", 1) },
            new Dictionary<SubnetKey, Lease> { [Subnet("198.18.1.0/24")] = Lease("198.18.1.0/24", 1) }), Is.Empty);
}
