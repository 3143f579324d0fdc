using Overlay.Core.Allocation;
using Overlay.Core.Leases;
using Overlay.Leases.Store;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Store;

public sealed class ReservationTests : EtcdFixture
{
    [Test]
    public async Task A_reservation_is_a_key_with_no_etcd_lease()
    {
        SubnetKey subnet = Subnet("198.18.7.0/24");

        await Store.ReserveAsync(subnet, Attributes(Node(1)), CancellationToken.None);

        StoredKey stored = StoredLease(Etcd, Prefix, subnet)!;
        Assert.That(stored.Lease, Is.Zero);
        LeaseSnapshot listed = await Store.ListAsync(withExpiration: true, CancellationToken.None);
        Assert.That(listed.Leases.Single().IsReservation, Is.True);
        Assert.That(listed.Leases.Single().Expiration, Is.Null);
    }

    [Test]
    public async Task A_reservation_survives_acquisition_and_repeated_renewals_with_lease_id_0()
    {
        SubnetKey subnet = Subnet("198.18.7.0/24");
        NodeIdentity node = Node(1);
        // An administrator reserved the subnet for this node's public IP, flannel style: no owner id.
        await Store.ReserveAsync(subnet, Attributes(node) with { BackendData = null, BackendType = null }, CancellationToken.None);
        string leasesBefore = Etcd.Etcdctl("lease", "list").EnsureSuccess().StdOut;

        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
        Assert.That(own.Subnet, Is.EqualTo(subnet));
        Assert.That(own.How, Is.EqualTo(AllocationOutcome.ReuseLease));
        Assert.That(own.Lease.EtcdLeaseId, Is.Zero);
        Assert.That(own.Expiration, Is.Null);
        for (int i = 0; i < 3; i++)
        {
            own = await Store.RenewAsync(own, CancellationToken.None);
            Assert.That(own.Lease.EtcdLeaseId, Is.Zero);
        }

        StoredKey stored = StoredLease(Etcd, Prefix, subnet)!;
        Assert.That(stored.Lease, Is.Zero);
        LeaseAttributes value = LeaseAttributes.Parse(stored.Value);
        Assert.That(value.OwnerId, Is.EqualTo("node-1"));
        Assert.That(value.BackendData, Is.EqualTo(Attributes(node).BackendData), "the node's VTEP MAC is published in the reservation");
        Assert.That(Etcd.Etcdctl("lease", "list").EnsureSuccess().StdOut, Is.EqualTo(leasesBefore), "no etcd lease was granted");
    }

    [Test]
    public async Task A_reservation_for_another_node_is_honoured()
    {
        SubnetKey reserved = Subnet("198.18.7.0/24");
        await Store.ReserveAsync(reserved, Attributes(Node(2)), CancellationToken.None);
        NodeIdentity node = Node(1);

        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), reserved, CancellationToken.None);

        Assert.That(own.Subnet, Is.Not.EqualTo(reserved));
        Assert.That(StoredLease(Etcd, Prefix, reserved)!.Lease, Is.Zero);
    }

    [Test]
    public async Task Reserve_refuses_a_subnet_held_by_another_node()
    {
        NodeIdentity holder = Node(2);
        OwnLease held = await Store.AcquireAsync(Config(), holder, Attributes(holder), null, CancellationToken.None);

        var refused = Assert.ThrowsAsync<SubnetHeldException>(() => Store.ReserveAsync(held.Subnet, Attributes(Node(1)) with { OwnerId = "node-1" }, CancellationToken.None));

        Assert.That(refused!.Message, Does.Contain("node-2"));
        Assert.That(StoredLease(Etcd, Prefix, held.Subnet)!.Lease, Is.EqualTo(held.Lease.EtcdLeaseId));
    }

    [Test]
    public async Task Reserve_turns_the_same_nodes_lease_into_a_reservation()
    {
        NodeIdentity node = Node(1);
        OwnLease held = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        await Store.ReserveAsync(held.Subnet, held.Lease.Attributes, CancellationToken.None);

        Assert.That(StoredLease(Etcd, Prefix, held.Subnet)!.Lease, Is.Zero);
    }

    [Test]
    public async Task Renewing_a_reservation_taken_by_another_node_reports_it_lost()
    {
        SubnetKey subnet = Subnet("198.18.7.0/24");
        NodeIdentity node = Node(1);
        await Store.ReserveAsync(subnet, Attributes(node), CancellationToken.None);
        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
        string foreign = (Attributes(Node(2)) with { OwnerId = "node-2" }).ToJson();
        Put(Etcd, subnet.ToEtcdKey(Prefix), foreign);

        Assert.ThrowsAsync<LeaseLostException>(() => Store.RenewAsync(own, CancellationToken.None));

        Assert.That(StoredLease(Etcd, Prefix, subnet)!.Value, Is.EqualTo(foreign));
    }
}
