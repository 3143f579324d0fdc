using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Overlay.Daemon.Health;
using Overlay.Daemon.Options;

namespace Overlay.Daemon.Tests.Health;

public class DaemonStatusTests
{
    [Test]
    public void Metrics_are_in_prometheus_text_format_with_the_current_values()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var status = new DaemonStatus(time);
        status.SetPeers(12, 1);
        status.AddRepairs(3);
        status.ObserveEtcdFailures(() => 1);
        status.RecordReconcile(TimeSpan.FromMilliseconds(20));
        status.SetLeaseExpiration(time.GetUtcNow().AddHours(2));

        string metrics = status.RenderMetrics();

        Assert.That(metrics, Does.Contain("# TYPE overlay_peers_programmed gauge\noverlay_peers_programmed 12\n"));
        Assert.That(metrics, Does.Contain("overlay_repairs_total 3\n"));
        Assert.That(metrics, Does.Contain("overlay_etcd_errors_total 1\n"));
        Assert.That(metrics, Does.Contain("overlay_lease_expiry_seconds 7200\n"));
        Assert.That(metrics, Does.Contain("overlay_reconcile_duration_seconds_count 1\n"));
        Assert.That(metrics, Does.Contain("overlay_leases_skipped 1\n"));
    }

    [Test]
    public void Metrics_include_the_resident_memory_this_process_has_in_proc_status()
    {
        string metrics = new DaemonStatus(TimeProvider.System).RenderMetrics();

        long resident = long.Parse(
            metrics.Split('\n').Single(l => l.StartsWith("process_resident_memory_bytes ", StringComparison.Ordinal)).Split(' ')[1],
            System.Globalization.CultureInfo.InvariantCulture);
        long oracle = long.Parse(
            File.ReadLines("/proc/self/status").Single(l => l.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1],
            System.Globalization.CultureInfo.InvariantCulture) * 1024;
        Assert.That(resident, Is.EqualTo(oracle).Within(16 * 1024 * 1024), "VmRSS moves a little between the two reads");
    }

    [Test]
    public void Metrics_include_the_managed_heap_as_the_last_garbage_collection_left_it()
    {
        // The GC describes its heap as of the last collection, and a test host run for this test alone may not have
        // had one yet (ProcessMemoryTests covers that case): collect first, so the figures are the ones it left.
        GC.Collect();
        GCMemoryInfo collected = GC.GetGCMemoryInfo();

        string metrics = new DaemonStatus(TimeProvider.System).RenderMetrics();

        Assert.That(GC.GetGCMemoryInfo().Index, Is.EqualTo(collected.Index), "no other collection ran while the metrics were rendered");
        Assert.That(collected.HeapSizeBytes, Is.Positive);
        Assert.That(Value(metrics, "overlay_gc_heap_bytes"), Is.EqualTo(collected.HeapSizeBytes));
        Assert.That(Value(metrics, "overlay_gc_fragmented_bytes"), Is.EqualTo(collected.FragmentedBytes));
        Assert.That(Value(metrics, "overlay_gc_committed_bytes"), Is.EqualTo(collected.TotalCommittedBytes));
        Assert.That(metrics, Does.Contain("# TYPE overlay_gc_collections_total counter\n"));
        Assert.That(Value(metrics, "overlay_gc_collections_total"), Is.GreaterThanOrEqualTo(1));
    }

    private static long Value(string metrics, string name) => long.Parse(
        metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..],
        System.Globalization.CultureInfo.InvariantCulture);

    [Test]
    public void A_reservation_never_expires()
    {
        var status = new DaemonStatus(TimeProvider.System);
        status.SetLeaseExpiration(null);
        Assert.That(status.RenderMetrics(), Does.Contain("overlay_lease_expiry_seconds +Inf\n"));
    }

    [Test]
    public void Readyz_answers_503_until_ready_and_unknown_paths_404()
    {
        var status = new DaemonStatus(TimeProvider.System);
        var server = new HealthServer(new DaemonOptions(), status, NullLogger<HealthServer>.Instance);

        Assert.That(server.Respond("GET /healthz HTTP/1.1").Code, Is.EqualTo(200));
        Assert.That(server.Respond("GET /readyz HTTP/1.1").Code, Is.EqualTo(503));
        status.MarkReady();
        Assert.That(server.Respond("GET /readyz HTTP/1.1").Code, Is.EqualTo(200));
        Assert.That(server.Respond("GET /nope HTTP/1.1").Code, Is.EqualTo(404));
        Assert.That(server.Respond("POST /healthz HTTP/1.1").Code, Is.EqualTo(405));
    }

    [Test]
    public void Readyz_says_what_start_up_waits_for()
    {
        var status = new DaemonStatus(TimeProvider.System);
        var server = new HealthServer(new DaemonOptions(), status, NullLogger<HealthServer>.Instance);
        const string waiting = "cannot read /coreos.com/network/config: etcd is unreachable (etcd's certificate (CN=etcd) is not signed by the CA in '/etc/overlay/ca.pem')";

        Assert.That(server.Respond("GET /readyz HTTP/1.1").Body, Is.EqualTo("not ready: waiting for the network config, a lease, the device or the subnet file\n"));
        status.SetActivity(waiting);
        Assert.That(server.Respond("GET /readyz HTTP/1.1"), Is.EqualTo((503, $"not ready: {waiting}\n", "text/plain; charset=utf-8")));
    }
}
