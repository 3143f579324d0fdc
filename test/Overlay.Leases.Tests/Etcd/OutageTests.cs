using Overlay.Core.Allocation;
using Overlay.Leases.Etcd;
using Overlay.Leases.Keeping;
using Overlay.Leases.Store;
using Overlay.TestKit;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Etcd;

/// <summary>etcd down: single calls give up after their retries, the daemon's loops do not. An etcd per test.</summary>
public sealed class OutageTests
{
    private const string Prefix = "/coreos.com/network";
    private EtcdServer etcd = null!;

    [SetUp]
    public async Task StartEtcd() => etcd = await EtcdServer.StartAsync();

    [TearDown]
    public async Task StopEtcd()
    {
        etcd.AttachLogIfFailed();
        await etcd.DisposeAsync();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task The_first_acquisition_waits_for_etcd_to_come_back(CancellationToken ct)
    {
        await using var session = new EtcdSession(Options(etcd, Prefix) with { CallTimeout = TimeSpan.FromSeconds(1) });
        var store = new LeaseStore(session);
        await store.PutConfigJsonAsync(SixtyFourSubnets, ct);
        await etcd.StopAsync();
        NodeIdentity node = Node(1);
        var keeper = new LeaseKeeper(store, Config(), node, Attributes(node), null, new LeaseOptions());

        Task<OwnLease> acquiring = keeper.AcquireAsync(ct);
        Assert.That(async () => await store.GetConfigJsonAsync(ct), Throws.Exception.Matches<Exception>(e => EtcdErrors.IsTransient(e, default)),
            "a single call gives up after its retries, with a transient error");
        Assert.That(acquiring.IsCompleted, Is.False);
        await etcd.StartAgainAsync(ct);

        OwnLease own = await acquiring;
        Assert.That(StoredLease(etcd, Prefix, own.Subnet), Is.Not.Null);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Waiting_for_the_config_outlasts_an_etcd_outage(CancellationToken ct)
    {
        await using var session = new EtcdSession(Options(etcd, Prefix) with { CallTimeout = TimeSpan.FromSeconds(1) });
        var store = new LeaseStore(session);
        await etcd.StopAsync();

        Task<Overlay.Core.Config.NetworkConfig> waiting = store.WaitForConfigAsync(ct);
        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        Assert.That(waiting.IsCompleted, Is.False);
        await etcd.StartAgainAsync(ct);
        Put(etcd, Prefix + "/config", WideNetwork);

        Assert.That((await waiting).Network.ToString(), Is.EqualTo("198.18.0.0/16"));
    }
}
