using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using Overlay.Core.Allocation;
using Overlay.Core.Leases;
using Overlay.Leases.Keeping;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;
using Overlay.TestKit;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Keeping;

public sealed class LeaseKeeperTests : EtcdFixture
{
    private static readonly LeaseOptions TwoHours = new() { Ttl = TimeSpan.FromHours(2), RenewMargin = TimeSpan.FromMinutes(30) };

    private FakeTimeProvider time = null!;
    private CancellationTokenSource stop = null!;
    private Channel<DateTimeOffset> schedules = null!;
    private Task running = Task.CompletedTask;

    [SetUp]
    public void StartClock()
    {
        time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        schedules = Channel.CreateUnbounded<DateTimeOffset>();
    }

    [TearDown]
    public async Task StopKeeper()
    {
        await stop.CancelAsync();
        await running;
        stop.Dispose();
    }

    [Test]
    public async Task Renewal_happens_at_expiration_minus_the_margin_and_uses_a_fresh_etcd_lease()
    {
        LeaseKeeper keeper = NewKeeper(Node(1));
        OwnLease first = await keeper.AcquireAsync(stop.Token);
        var changed = new List<OwnLease>();
        keeper.LeaseChanged += changed.Add;
        Start(keeper);

        DateTimeOffset due = await NextScheduleAsync();
        Assert.That(first.Expiration, Is.EqualTo(time.GetUtcNow() + TimeSpan.FromHours(2)));
        Assert.That(due, Is.EqualTo(first.Expiration!.Value - TimeSpan.FromMinutes(30)));

        time.Advance(due - time.GetUtcNow());
        DateTimeOffset next = await NextScheduleAsync();

        OwnLease renewed = keeper.Current!;
        Assert.That(renewed.Lease.EtcdLeaseId, Is.Not.EqualTo(first.Lease.EtcdLeaseId));
        Assert.That(renewed.Subnet, Is.EqualTo(first.Subnet));
        Assert.That(renewed.Expiration, Is.EqualTo(due + TimeSpan.FromHours(2)));
        Assert.That(next, Is.EqualTo(renewed.Expiration!.Value - TimeSpan.FromMinutes(30)));
        Assert.That(StoredLease(Etcd, Prefix, first.Subnet)!.Lease, Is.EqualTo(renewed.Lease.EtcdLeaseId));
        Assert.That(RemainingTtl(Etcd, renewed.Lease.EtcdLeaseId), Is.InRange(7100, 7200));
        Assert.That(changed, Is.EqualTo(new[] { renewed }));
    }

    [Test]
    public async Task A_reservation_stays_a_reservation_through_repeated_renewals()
    {
        SubnetKey subnet = Subnet("198.18.7.0/24");
        NodeIdentity node = Node(1);
        await Store.ReserveAsync(subnet, Attributes(node), CancellationToken.None);
        LeaseKeeper keeper = NewKeeper(node);
        OwnLease first = await keeper.AcquireAsync(stop.Token);
        Start(keeper);

        for (int i = 0; i < 3; i++)
        {
            DateTimeOffset due = await NextScheduleAsync();
            time.Advance(due - time.GetUtcNow());
        }

        await NextScheduleAsync();
        Assert.That(first.IsReservation, Is.True);
        Assert.That(keeper.Current!.Lease.EtcdLeaseId, Is.Zero);
        Assert.That(keeper.Current.Subnet, Is.EqualTo(subnet));
        Assert.That(StoredLease(Etcd, Prefix, subnet)!.Lease, Is.Zero);
    }

    [Test]
    public async Task A_lease_taken_over_by_another_node_is_not_overwritten_and_a_new_subnet_is_acquired()
    {
        LeaseKeeper keeper = NewKeeper(Node(1));
        OwnLease first = await keeper.AcquireAsync(stop.Token);
        var changed = new List<OwnLease>();
        keeper.LeaseChanged += changed.Add;
        Start(keeper);
        DateTimeOffset due = await NextScheduleAsync();
        string foreign = (Attributes(Node(2)) with { OwnerId = "node-2" }).ToJson();
        Put(Etcd, first.Subnet.ToEtcdKey(Prefix), foreign);

        time.Advance(due - time.GetUtcNow());
        await NextScheduleAsync();

        Assert.That(keeper.Current!.Subnet, Is.Not.EqualTo(first.Subnet));
        Assert.That(changed.Select(l => l.Subnet), Is.EqualTo(new[] { keeper.Current.Subnet }));
        Assert.That(StoredLease(Etcd, Prefix, first.Subnet)!.Value, Is.EqualTo(foreign));
        Assert.That(LeaseAttributes.Parse(StoredLease(Etcd, Prefix, keeper.Current.Subnet)!.Value).OwnerId, Is.EqualTo("node-1"));
    }

    [Test]
    public async Task A_lease_that_vanished_is_acquired_again_at_once_preferring_the_same_subnet()
    {
        LeaseKeeper keeper = NewKeeper(Node(1));
        OwnLease first = await keeper.AcquireAsync(stop.Token);
        Start(keeper);
        await NextScheduleAsync();
        var watcher = new LeaseWatcher(Session);
        Task forwarding = Task.Run(async () =>
        {
            await foreach (LeaseUpdate update in watcher.WatchAsync(stop.Token))
            {
                keeper.NotifyLeaseChanged(update);
            }
        });

        // Its etcd lease expired early (or an operator revoked it): the key is gone.
        Etcd.Etcdctl("lease", "revoke", first.Lease.EtcdLeaseId.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess();

        bool back = await Poll.UntilAsync(() => Task.FromResult(StoredLease(Etcd, Prefix, first.Subnet) is { } k && k.Lease != first.Lease.EtcdLeaseId));
        Assert.That(back, Is.True, "the subnet was not acquired again");
        Assert.That(LeaseAttributes.Parse(StoredLease(Etcd, Prefix, first.Subnet)!.Value).OwnerId, Is.EqualTo("node-1"));
        Assert.That(await Poll.UntilAsync(() => Task.FromResult(keeper.Current!.Lease.EtcdLeaseId != first.Lease.EtcdLeaseId)), Is.True);
        Assert.That(keeper.Current!.Subnet, Is.EqualTo(first.Subnet));
        await stop.CancelAsync();
        await forwarding;
    }

    [Test]
    public async Task A_relist_that_no_longer_shows_the_lease_makes_the_keeper_acquire_it_again()
    {
        // After a compaction the watcher relists; a lease that expired meanwhile is simply absent from the list.
        LeaseKeeper keeper = NewKeeper(Node(1));
        OwnLease first = await keeper.AcquireAsync(stop.Token);
        Start(keeper);
        await NextScheduleAsync();
        await Store.ReleaseAsync(first.Subnet, CancellationToken.None);

        keeper.NotifyLeaseChanged(new LeaseUpdate([], [], Revision: 1, IsResync: true));

        await NextScheduleAsync();
        Assert.That(keeper.Current!.Subnet, Is.EqualTo(first.Subnet));
        Assert.That(keeper.Current.How, Is.EqualTo(AllocationOutcome.ReusePreviousSubnet));
        Assert.That(StoredLease(Etcd, Prefix, first.Subnet)!.Lease, Is.EqualTo(keeper.Current.Lease.EtcdLeaseId));
    }

    [Test]
    public async Task The_first_acquisition_throws_when_the_network_is_out_of_subnets()
    {
        await Task.WhenAll(Enumerable.Range(1, 64).Select(n => Store.AcquireAsync(Config(), Node(n), Attributes(Node(n)), null, CancellationToken.None)));
        LeaseKeeper keeper = NewKeeper(Node(65));

        Assert.ThrowsAsync<OutOfSubnetsException>(() => keeper.AcquireAsync(stop.Token));
    }

    [Test]
    public async Task Stopping_the_keeper_leaves_the_lease_in_etcd()
    {
        LeaseKeeper keeper = NewKeeper(Node(1));
        OwnLease first = await keeper.AcquireAsync(stop.Token);
        Start(keeper);
        await NextScheduleAsync();

        await stop.CancelAsync();
        await running;

        Assert.That(running.IsCompletedSuccessfully, Is.True);
        Assert.That(StoredLease(Etcd, Prefix, first.Subnet)!.Lease, Is.EqualTo(first.Lease.EtcdLeaseId));
    }

    private LeaseKeeper NewKeeper(NodeIdentity node)
    {
        var store = new LeaseStore(Session, TwoHours, time: time);
        var keeper = new LeaseKeeper(store, Config(), node, Attributes(node), null, TwoHours, time: time);
        keeper.RenewalScheduled += due => schedules.Writer.TryWrite(due);
        return keeper;
    }

    private void Start(LeaseKeeper keeper) => running = keeper.RunAsync(stop.Token);

    private async Task<DateTimeOffset> NextScheduleAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        return await schedules.Reader.ReadAsync(timeout.Token);
    }
}
