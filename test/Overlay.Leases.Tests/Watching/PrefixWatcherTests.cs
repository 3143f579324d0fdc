using Overlay.Leases.Etcd;
using Overlay.Leases.Watching;
using Overlay.TestKit;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Watching;

/// <summary>The service registry's watch: every key under a prefix, raw, through outages and compactions.</summary>
public sealed class PrefixWatcherTests
{
    private const string Prefix = "/coreos.com/network";
    private const string Services = Prefix + "/services/";
    private EtcdServer etcd = null!;
    private EtcdSession session = null!;

    [SetUp]
    public async Task StartEtcd()
    {
        etcd = await EtcdServer.StartAsync();
        session = new EtcdSession(Options(etcd, Prefix));
    }

    [TearDown]
    public async Task StopEtcd()
    {
        etcd.AttachLogIfFailed();
        await session.DisposeAsync();
        await etcd.DisposeAsync();
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task The_first_update_lists_the_prefix_and_later_ones_carry_puts_and_deletes_in_order(CancellationToken ct)
    {
        Put(Services + "default/web", "one");
        Put(Prefix + "/subnets/198.18.1.0-24", "{}"); // outside the prefix: never seen
        await using var recorder = new Recorder(new PrefixWatcher(session, Services).WatchAsync(ct));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the list");

        Put(Services + "default/db", "two");
        Put(Services + "default/web", "three");
        Etcd("del", Services + "default/db");
        Etcd("del", Services + "default/nothing"); // never existed: no change
        await recorder.WaitUntilAsync(r => r.Changes.Count >= 4, "three changes after the list");

        Assert.That(recorder.Updates[0].IsResync, Is.True);
        Assert.That(recorder.Changes, Is.EqualTo(new[]
        {
            new KeyChange(Services + "default/web", "one"),
            new KeyChange(Services + "default/db", "two"),
            new KeyChange(Services + "default/web", "three"),
            new KeyChange(Services + "default/db", null),
        }));
        Assert.That(recorder.Updates.Skip(1).Select(u => u.IsResync), Is.All.False);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Changes_made_while_etcd_was_down_and_right_after_arrive_once(CancellationToken ct)
    {
        await using var recorder = new Recorder(new PrefixWatcher(session, Services).WatchAsync(ct));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the list");
        Put(Services + "a/one", "1");
        await recorder.WaitUntilAsync(r => r.Changes.Count >= 1, "the change before the outage");

        await etcd.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(4), ct);
        await etcd.StartAgainAsync(ct);
        Put(Services + "a/two", "2");
        Etcd("del", Services + "a/one");
        await recorder.WaitUntilAsync(r => r.Changes.Count >= 3, "the changes after the outage", TimeSpan.FromSeconds(30));

        Assert.That(recorder.Changes.Select(c => (c.Key, c.Value)), Is.EqualTo(new (string, string?)[]
        {
            (Services + "a/one", "1"),
            (Services + "a/two", "2"),
            (Services + "a/one", null),
        }));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task After_a_compaction_it_lists_again_and_reports_only_what_differs(CancellationToken ct)
    {
        Put(Services + "a/kept", "k");
        Put(Services + "a/changed", "c1");
        Put(Services + "a/removed", "r");
        var watcher = new PrefixWatcher(session, Services);
        (var entries, long revision) = await watcher.ListAsync(ct);
        var known = entries.ToDictionary(kv => kv.Key.ToStringUtf8(), kv => kv.ModRevision);

        Put(Services + "a/changed", "c2");
        Put(Services + "a/added", "n");
        Etcd("del", Services + "a/removed");
        (_, long now) = await watcher.ListAsync(ct);
        await etcd.CompactAsync(now);

        await using var recorder = new Recorder(watcher.WatchFromAsync(known, revision, ct));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the relist");

        Assert.That(recorder.Updates[0].IsResync, Is.True);
        Assert.That(recorder.Changes, Is.EquivalentTo(new[]
        {
            new KeyChange(Services + "a/changed", "c2"),
            new KeyChange(Services + "a/added", "n"),
            new KeyChange(Services + "a/removed", null),
        }));
    }

    private void Put(string key, string value) => Etcd("put", key, value);

    private void Etcd(params string[] args) => Assert.That(etcd.Etcdctl(args).ExitCode, Is.Zero, $"etcdctl {string.Join(' ', args)}");

    /// <summary>The prefix watch's recorder: its key changes in order.</summary>
    private sealed class Recorder(IAsyncEnumerable<PrefixUpdate> watch)
        : UpdateRecorder<PrefixUpdate>(watch, u => $"r{u.Revision}{(u.IsResync ? " resync" : "")}: {u.Changes.Count} changes")
    {
        public IReadOnlyList<KeyChange> Changes => Updates.SelectMany(u => u.Changes).ToList();

        public Task WaitUntilAsync(Func<Recorder, bool> condition, string what, TimeSpan? timeout = null) =>
            base.WaitUntilAsync(_ => condition(this), what, timeout);
    }
}
