using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Core.Allocation;
using Overlay.Core.Leases;
using Overlay.Core.Services;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Daemon.Services;
using Overlay.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Services;
using Overlay.Leases.Store;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.Services;

/// <summary>The pods component against a real etcd and a pods folder of the test's, passes driven by hand.</summary>
public sealed class PodsComponentTests : EtcdPerFixture
{
    private string prefix = "";
    private string folder = "";
    private EtcdSession session = null!;
    private PodRegistry registry = null!;
    private OwnLease own = null!;
    private DaemonStatus status = null!;

    [SetUp]
    public void Prepare()
    {
        prefix = $"/t{Guid.NewGuid():N}/coreos.com/network";
        folder = Directory.CreateTempSubdirectory($"ovt-podfolder-{Environment.ProcessId}-").FullName;
        session = new EtcdSession(new EtcdOptions { Endpoints = [Etcd.Endpoint], Prefix = prefix, CallTimeout = TimeSpan.FromSeconds(3) });
        registry = new PodRegistry(session, TimeSpan.FromSeconds(30));
        own = Own("198.18.34.0/24");
        status = new DaemonStatus(TimeProvider.System);
    }

    [TearDown]
    public async Task CleanUp()
    {
        registry.Dispose();
        status.Dispose();
        await session.DisposeAsync();
        Directory.Delete(folder, recursive: true);
    }

    private static OwnLease Own(string subnet) =>
        new(new Lease(new SubnetKey(IPNetwork.Parse(subnet)), new LeaseAttributes { PublicIP = "192.0.2.11" }, 1), 1, null, AllocationOutcome.ReuseLease);

    private PodsComponent Component() => new(folder, registry, () => own, status, NullLogger.Instance);

    private void WritePod(string name, string app = "web") =>
        File.WriteAllText(Path.Combine(folder, $"shop_{name}.json"), PodCodec.Serialize(new PodRecord
        {
            Namespace = "shop",
            Name = name,
            Node = "198.18.34.0-24",
            Addresses = [IPAddress.Parse("198.18.34.5")],
            Labels = new Dictionary<string, string> { ["app"] = app },
        }));

    private Dictionary<string, JsonElement> PodsInEtcd()
    {
        using var json = JsonDocument.Parse(Etcd.Etcdctl("get", "--prefix", prefix + "/pods/", "-w", "json").EnsureSuccess().StdOut);
        var pods = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (json.RootElement.TryGetProperty("kvs", out JsonElement kvs))
        {
            foreach (JsonElement kv in kvs.EnumerateArray())
            {
                string key = Encoding.UTF8.GetString(Convert.FromBase64String(kv.GetProperty("key").GetString()!));
                using var value = JsonDocument.Parse(Convert.FromBase64String(kv.GetProperty("value").GetString()!));
                pods[key[(prefix.Length + "/pods/".Length)..]] = value.RootElement.Clone();
            }
        }

        return pods;
    }

    private static ValueTask Pass(PodsComponent component, Triggers kind) => component.RunPassAsync(TriggerBatch.Of(new Trigger(kind)), CancellationToken.None);

    [Test]
    public async Task The_folders_pods_are_put_a_changed_one_again_and_a_removed_one_deleted()
    {
        PodsComponent component = Component();
        WritePod("web-1");
        WritePod("web-2");

        await Pass(component, Triggers.PodFiles);
        Assert.That(PodsInEtcd().Keys, Is.EquivalentTo(new[] { "shop/web-1", "shop/web-2" }));

        WritePod("web-1", app: "api");
        File.Delete(Path.Combine(folder, "shop_web-2.json"));
        await Pass(component, Triggers.PodFiles);

        Dictionary<string, JsonElement> pods = PodsInEtcd();
        Assert.That(pods.Keys, Is.EqualTo(new[] { "shop/web-1" }));
        Assert.That(pods["shop/web-1"].GetProperty("labels").GetProperty("app").GetString(), Is.EqualTo("api"));
    }

    [Test]
    public async Task When_the_own_lease_moves_every_pod_is_put_again_with_the_new_node()
    {
        PodsComponent component = Component();
        WritePod("web-1");
        await Pass(component, Triggers.PodFiles);
        Assert.That(PodsInEtcd()["shop/web-1"].GetProperty("node").GetString(), Is.EqualTo("198.18.34.0-24"));

        own = Own("198.18.40.0/24");
        await Pass(component, Triggers.OwnLease);

        Assert.That(PodsInEtcd()["shop/web-1"].GetProperty("node").GetString(), Is.EqualTo("198.18.40.0-24"));
    }

    [Test]
    public async Task The_first_pass_deletes_this_nodes_pods_without_a_file_and_leaves_other_nodes_pods()
    {
        Etcd.Etcdctl("put", prefix + "/pods/shop/gone", """{"namespace":"shop","name":"gone","node":"198.18.34.0-24","ips":["198.18.34.9"]}""").EnsureSuccess();
        Etcd.Etcdctl("put", prefix + "/pods/shop/other", """{"namespace":"shop","name":"other","node":"198.18.35.0-24","ips":["198.18.35.9"]}""").EnsureSuccess();
        WritePod("web-1");

        await Pass(Component(), Triggers.PodFiles);

        Assert.That(PodsInEtcd().Keys, Is.EquivalentTo(new[] { "shop/other", "shop/web-1" }));
    }

    [Test]
    public async Task A_file_that_is_not_a_pod_is_skipped_and_counted_and_the_others_are_put()
    {
        PodsComponent component = Component();
        WritePod("web-1");
        File.WriteAllText(Path.Combine(folder, "shop_bad.json"), "{not a pod");
        File.WriteAllText(Path.Combine(folder, ".shop_web-3.json.1.tmp"), "partial");

        await Pass(component, Triggers.PodFiles);

        Assert.That(PodsInEtcd().Keys, Is.EqualTo(new[] { "shop/web-1" }));
        Assert.That(component.Skipped, Is.EqualTo(1));
        Assert.That(status.RenderMetrics(), Does.Contain("overlay_pod_files_skipped 1\n").And.Contain("overlay_pods_published 1\n"));
    }
}
