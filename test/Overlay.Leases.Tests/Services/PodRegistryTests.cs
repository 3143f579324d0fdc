using System.Globalization;
using System.Net;
using Overlay.Core.Services;
using Overlay.Leases.Services;
using Overlay.TestKit;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Services;

public sealed class PodRegistryTests : EtcdFixture
{
    private const string Node = "198.18.34.0-24";

    private static PodRecord Pod(string name, string node = Node) => new()
    {
        Namespace = "shop",
        Name = name,
        Node = node,
        Addresses = [IPAddress.Parse("198.18.34.5")],
        Labels = new Dictionary<string, string> { ["app"] = "web" },
    };

    private string PodsPrefix => RegistryKeys.PodsPrefix(Prefix);

    private IReadOnlyList<StoredKey> StoredPods() => Stored(Etcd, PodsPrefix);

    [Test]
    public async Task A_pod_is_put_as_its_JSON_bound_to_an_etcd_lease_with_the_pod_TTL()
    {
        using var registry = new PodRegistry(Session, TimeSpan.FromSeconds(30));

        await registry.PutAsync(Pod("web-1"), CancellationToken.None);

        StoredKey stored = StoredPods().Single();
        Assert.That(stored.Key, Is.EqualTo(Prefix + "/pods/shop/web-1"));
        Assert.That(stored.Value, Is.EqualTo(PodCodec.Serialize(Pod("web-1"))));
        Assert.That(stored.Lease, Is.EqualTo(registry.LeaseId).And.Not.Zero);
        Assert.That(RemainingTtl(Etcd, registry.LeaseId), Is.InRange(25, 30));
    }

    [Test]
    public async Task The_pods_of_a_node_are_listed_and_a_bad_value_is_skipped_with_the_reason()
    {
        using var registry = new PodRegistry(Session, TimeSpan.FromSeconds(30));
        await registry.PutAsync(Pod("web-1"), CancellationToken.None);
        await registry.PutAsync(Pod("web-2", node: "198.18.35.0-24"), CancellationToken.None);
        Put(Etcd, PodsPrefix + "shop/broken", "{not json");

        IReadOnlyList<PodEntry> all = await registry.ListAsync(CancellationToken.None);
        IReadOnlyList<PodRecord> mine = await registry.ListNodeAsync(Node, CancellationToken.None);

        Assert.That(mine.Select(p => p.FullName), Is.EqualTo(new[] { "shop/web-1" }));
        PodEntry broken = all.Single(e => e.Key.EndsWith("/broken", StringComparison.Ordinal));
        Assert.That(broken.Pod, Is.Null);
        Assert.That(broken.Problem, Does.StartWith("not a pod"));
    }

    [Test]
    public async Task Delete_removes_the_key()
    {
        using var registry = new PodRegistry(Session, TimeSpan.FromSeconds(30));
        await registry.PutAsync(Pod("web-1"), CancellationToken.None);

        bool deleted = await registry.DeleteAsync("shop", "web-1", CancellationToken.None);
        bool again = await registry.DeleteAsync("shop", "web-1", CancellationToken.None);

        Assert.That((deleted, again), Is.EqualTo((true, false)));
        Assert.That(StoredPods(), Is.Empty);
    }

    [Test]
    public async Task Kept_alive_the_pods_outlive_their_TTL_and_without_it_they_vanish()
    {
        using var kept = new PodRegistry(Session, TimeSpan.FromSeconds(3));
        using var left = new PodRegistry(NewSession(), TimeSpan.FromSeconds(3));
        await kept.PutAsync(Pod("kept"), CancellationToken.None);
        await left.PutAsync(Pod("left"), CancellationToken.None);
        using var stop = new CancellationTokenSource();
        Task keeping = kept.RunAsync(stop.Token);

        bool leftGone = Poll.Until(() => StoredPods().All(k => !k.Key.EndsWith("/left", StringComparison.Ordinal)), TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(2)); // past the TTL once more for the kept one

        Assert.That(leftGone, Is.True, "a pod whose lease is not kept alive vanishes after the TTL");
        Assert.That(StoredPods().Select(k => k.Key), Is.EqualTo(new[] { PodsPrefix + "shop/kept" }));
        await stop.CancelAsync();
        await keeping;
    }

    [Test]
    public async Task A_lost_lease_is_replaced_and_every_pod_put_again()
    {
        using var registry = new PodRegistry(Session, TimeSpan.FromSeconds(3));
        await registry.PutAsync(Pod("web-1"), CancellationToken.None);
        await registry.PutAsync(Pod("web-2"), CancellationToken.None);
        long first = registry.LeaseId;
        using var stop = new CancellationTokenSource();
        Task keeping = registry.RunAsync(stop.Token);

        Etcd.Etcdctl("lease", "revoke", first.ToString("x", CultureInfo.InvariantCulture)).EnsureSuccess();

        Assert.That(Poll.Until(() => StoredPods().Count == 2, TimeSpan.FromSeconds(10)), Is.True, "both pods are back");
        Assert.That(registry.LeaseId, Is.Not.EqualTo(first));
        Assert.That(StoredPods().Select(k => k.Lease), Is.All.EqualTo(registry.LeaseId));
        await stop.CancelAsync();
        await keeping;
    }

    [Test]
    public async Task A_put_after_the_lease_was_lost_binds_the_pod_to_a_new_lease_and_puts_the_others_again()
    {
        using var registry = new PodRegistry(Session, TimeSpan.FromSeconds(30));
        await registry.PutAsync(Pod("web-1"), CancellationToken.None);
        long first = registry.LeaseId;
        Etcd.Etcdctl("lease", "revoke", first.ToString("x", CultureInfo.InvariantCulture)).EnsureSuccess();

        await registry.PutAsync(Pod("web-2"), CancellationToken.None);

        Assert.That(StoredPods().Select(k => (k.Key, k.Lease)), Is.EqualTo(new[] { (PodsPrefix + "shop/web-1", registry.LeaseId), (PodsPrefix + "shop/web-2", registry.LeaseId) }));
        Assert.That(registry.LeaseId, Is.Not.EqualTo(first));
    }
}
