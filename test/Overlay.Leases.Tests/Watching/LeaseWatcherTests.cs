using Overlay.Core.Allocation;
using Overlay.Core.Leases;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Watching;

public sealed class LeaseWatcherTests : EtcdFixture
{
    [Test]
    public async Task The_first_update_is_the_full_list_with_every_lease_added()
    {
        OwnLease a = await AcquireAsync(1);
        OwnLease b = await AcquireAsync(2);
        var watcher = new LeaseWatcher(Session);

        await using var recorder = new WatchRecorder(watcher.WatchAsync(CancellationToken.None));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the initial list");

        LeaseUpdate first = recorder.Updates[0];
        Assert.That(first.IsResync, Is.True);
        Assert.That(first.Changes.Select(c => c.Kind), Is.All.EqualTo(LeaseChangeKind.Added));
        Assert.That(first.Changes.Select(c => c.Subnet), Is.EquivalentTo(new[] { a.Subnet, b.Subnet }));
        Assert.That(first.Current.Select(l => l.Subnet), Is.EquivalentTo(new[] { a.Subnet, b.Subnet }));
        Assert.That(first.Revision, Is.GreaterThanOrEqualTo(b.ModRevision));
    }

    [Test]
    public async Task Additions_changes_and_removals_arrive_in_order_with_the_lease_before_and_after()
    {
        var watcher = new LeaseWatcher(Session);
        await using var recorder = new WatchRecorder(watcher.WatchAsync(CancellationToken.None));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the initial list");

        OwnLease a = await AcquireAsync(1);
        NodeIdentity node = Node(1);
        OwnLease moved = await Store.AcquireAsync(Config(), node with { PublicIP = PublicIP(99) }, Attributes(node with { PublicIP = PublicIP(99) }), null, CancellationToken.None);
        await Store.ReleaseAsync(a.Subnet, CancellationToken.None);
        await recorder.WaitUntilAsync(r => r.Changes.Count >= 3, "three changes");

        IReadOnlyList<LeaseChange> changes = recorder.Changes;
        Assert.That(changes.Select(c => c.Kind), Is.EqualTo(new[] { LeaseChangeKind.Added, LeaseChangeKind.Changed, LeaseChangeKind.Removed }));
        Assert.That(changes.Select(c => c.Subnet), Is.All.EqualTo(a.Subnet));
        Assert.That(moved.Subnet, Is.EqualTo(a.Subnet));
        Assert.That(changes[1].Previous!.Attributes.PublicIP, Is.EqualTo("192.0.2.1"));
        Assert.That(changes[1].Lease!.Attributes.PublicIP, Is.EqualTo("192.0.2.99"));
        Assert.That(changes[2].Previous!.Attributes.PublicIP, Is.EqualTo("192.0.2.99"));
        Assert.That(recorder.Updates[^1].Current, Is.Empty);
        Assert.That(recorder.Updates.Skip(1).Select(u => u.IsResync), Is.All.False);
        Assert.That(recorder.Updates.Select(u => u.Revision), Is.Ordered.Ascending);
    }

    [Test]
    public async Task Malformed_keys_and_values_are_skipped_and_the_watch_goes_on()
    {
        OwnLease good = await AcquireAsync(1);
        Put(Etcd, SubnetsPrefix + "garbage", Attributes(Node(5)).ToJson());
        Put(Etcd, Subnet("198.18.130.0/24").ToEtcdKey(Prefix), "not json");
        var watcher = new LeaseWatcher(Session);

        await using var recorder = new WatchRecorder(watcher.WatchAsync(CancellationToken.None));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the initial list");
        Assert.That(recorder.Updates[0].Current.Select(l => l.Subnet), Is.EqualTo(new[] { good.Subnet }));
        Assert.That(watcher.SkippedCount, Is.EqualTo(2));

        // In one batch: a bad value over a good lease, a bad key, and a good new lease.
        string goodKey = good.Subnet.ToEtcdKey(Prefix);
        SubnetKey third = Subnet("198.18.131.0/24");
        string thirdValue = Attributes(Node(3)).ToJson();
        await Session.Kv.TxnAsync(BadBatch(goodKey, SubnetsPrefix + "198.18.132.0-99", third.ToEtcdKey(Prefix), thirdValue)).ResponseAsync;
        await recorder.WaitUntilAsync(r => r.Changes.Any(c => c.Subnet == third), "the good lease after the bad entries");

        Assert.That(watcher.SkippedCount, Is.EqualTo(4));
        LeaseUpdate last = recorder.Updates[^1];
        Assert.That(last.Changes.Select(c => (c.Kind, c.Subnet)), Is.EqualTo(new[] { (LeaseChangeKind.Added, third) }));
        Assert.That(last.Current.Select(l => l.Subnet), Is.EquivalentTo(new[] { good.Subnet, third }), "a bad value keeps the last good lease");
    }

    private async Task<OwnLease> AcquireAsync(int n)
    {
        NodeIdentity node = Node(n);
        return await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
    }

    private static Etcdserverpb.TxnRequest BadBatch(string goodKey, string badKey, string newKey, string newValue)
    {
        var txn = new Etcdserverpb.TxnRequest();
        foreach ((string key, string value) in new[] { (goodKey, "{\"PublicIP\":\"nope\"}"), (badKey, newValue), (newKey, newValue) })
        {
            txn.Success.Add(new Etcdserverpb.RequestOp
            {
                RequestPut = new Etcdserverpb.PutRequest { Key = Google.Protobuf.ByteString.CopyFromUtf8(key), Value = Google.Protobuf.ByteString.CopyFromUtf8(value) },
            });
        }

        return txn;
    }
}
