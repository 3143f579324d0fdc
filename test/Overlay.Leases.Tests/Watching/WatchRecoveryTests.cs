using Overlay.Core.Allocation;
using Overlay.Core.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;
using Overlay.TestKit;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Watching;

/// <summary>Outages and compaction: each test gets an etcd of its own, since it stops or compacts it.</summary>
public sealed class WatchRecoveryTests
{
    private EtcdServer etcd = null!;
    private EtcdSession session = null!;
    private LeaseStore store = null!;
    private readonly string prefix = "/coreos.com/network";

    [SetUp]
    public async Task StartEtcd()
    {
        etcd = await EtcdServer.StartAsync();
        session = new EtcdSession(Options(etcd, prefix));
        store = new LeaseStore(session);
    }

    [TearDown]
    public async Task StopEtcd()
    {
        etcd.AttachLogIfFailed();
        await session.DisposeAsync();
        await etcd.DisposeAsync();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_watch_across_a_ten_second_etcd_outage_delivers_every_change_once(CancellationToken ct)
    {
        var watcher = new LeaseWatcher(session);
        await using var recorder = new WatchRecorder(watcher.WatchAsync(ct));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the initial list");
        OwnLease a = await AcquireAsync(1, ct);
        OwnLease b = await AcquireAsync(2, ct);
        await recorder.WaitUntilAsync(r => r.Changes.Count >= 2, "the changes before the outage");

        await etcd.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(10), ct);
        await etcd.StartAgainAsync(ct);
        // Written as soon as etcd is back, most likely before the watcher has reconnected.
        OwnLease c = await AcquireAsync(3, ct);
        await store.ReleaseAsync(a.Subnet, ct);
        OwnLease d = await AcquireAsync(4, ct);
        // By count, not by d's subnet: d may be given the subnet a just released, whose Added came long before.
        await recorder.WaitUntilAsync(r => r.Changes.Count >= 5, "the changes after the outage", TimeSpan.FromSeconds(30));

        Assert.That(recorder.Changes.Select(x => (x.Kind, x.Subnet)), Is.EqualTo(new[]
        {
            (LeaseChangeKind.Added, a.Subnet),
            (LeaseChangeKind.Added, b.Subnet),
            (LeaseChangeKind.Added, c.Subnet),
            (LeaseChangeKind.Removed, a.Subnet),
            (LeaseChangeKind.Added, d.Subnet),
        }));
        Assert.That(recorder.Updates.Select(u => u.Revision), Is.Ordered.Ascending.And.Unique);
        Assert.That(recorder.Updates.Skip(1).Select(u => u.IsResync), Is.All.False, "resuming needs no relist");
        Assert.That(recorder.Updates[^1].Current.Select(l => l.Subnet), Is.EquivalentTo(new[] { b.Subnet, c.Subnet, d.Subnet }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task After_a_compaction_the_watcher_lists_again_and_reports_the_difference(CancellationToken ct)
    {
        OwnLease kept = await AcquireAsync(1, ct);
        OwnLease changed = await AcquireAsync(2, ct);
        OwnLease removed = await AcquireAsync(3, ct);
        LeaseSnapshot known = await store.ListAsync(withExpiration: false, ct);

        // While the watcher was away: one lease added, one removed, one changed; then history is compacted.
        OwnLease added = await AcquireAsync(4, ct);
        await store.ReleaseAsync(removed.Subnet, ct);
        NodeIdentity two = Node(2) with { PublicIP = PublicIP(222) };
        OwnLease rewritten = await store.AcquireAsync(Config(), two, Attributes(two), null, ct);
        LeaseSnapshot now = await store.ListAsync(withExpiration: false, ct);
        await etcd.CompactAsync(now.Revision);

        var watcher = new LeaseWatcher(session);
        await using var recorder = new WatchRecorder(watcher.WatchFromAsync(known, ct));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the relist");

        LeaseUpdate relist = recorder.Updates[0];
        Assert.That(relist.IsResync, Is.True);
        Assert.That(relist.Revision, Is.GreaterThanOrEqualTo(now.Revision));
        Assert.That(relist.Changes.Select(x => (x.Kind, x.Subnet)), Is.EquivalentTo(new[]
        {
            (LeaseChangeKind.Added, added.Subnet),
            (LeaseChangeKind.Removed, removed.Subnet),
            (LeaseChangeKind.Changed, changed.Subnet),
        }));
        LeaseChange change = relist.Changes.Single(x => x.Kind == LeaseChangeKind.Changed);
        Assert.That(change.Previous!.Attributes.PublicIP, Is.EqualTo("192.0.2.2"));
        Assert.That(change.Lease!.Attributes.PublicIP, Is.EqualTo("192.0.2.222"));
        Assert.That(rewritten.Subnet, Is.EqualTo(changed.Subnet));
        Assert.That(relist.Current.Select(l => l.Subnet), Is.EquivalentTo(new[] { kept.Subnet, changed.Subnet, added.Subnet }));

        // And the watch carries on after the relist.
        OwnLease later = await AcquireAsync(5, ct);
        await recorder.WaitUntilAsync(r => r.Changes.Any(x => x.Subnet == later.Subnet), "a change after the relist");
        Assert.That(recorder.Updates[^1].IsResync, Is.False);
    }

    private async Task<OwnLease> AcquireAsync(int n, CancellationToken ct)
    {
        NodeIdentity node = Node(n);
        return await store.AcquireAsync(Config(), node, Attributes(node), null, ct);
    }
}
