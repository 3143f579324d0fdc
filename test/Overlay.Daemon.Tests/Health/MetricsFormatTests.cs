using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Time.Testing;
using Overlay.Daemon.Health;

namespace Overlay.Daemon.Tests.Health;

/// <summary>
/// Pins /metrics byte for byte: names, HELP and TYPE lines, order and number formats, as overlayd wrote them before
/// its values were also published as instruments (taken from a running overlayd of the demo, values set here).
/// Dashboards and alerts of existing users read this text; a change here is a change for them.
/// </summary>
public class MetricsFormatTests
{
    internal static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-01T10:00:00Z", CultureInfo.InvariantCulture);

    /// <summary>Every family overlayd writes, with the values <see cref="StatusWithEveryValueSet"/> gives.</summary>
    internal const string Pinned = """
        # HELP overlay_lease_expiry_seconds Seconds until this node's lease expires (+Inf for a reservation, NaN before the first lease).
        # TYPE overlay_lease_expiry_seconds gauge
        overlay_lease_expiry_seconds 86361.308
        # HELP overlay_peers_programmed Remote nodes whose route, neighbour and FDB entry are programmed.
        # TYPE overlay_peers_programmed gauge
        overlay_peers_programmed 12
        # HELP overlay_leases_skipped Leases in etcd that cannot be programmed (bad value, other backend, overlap).
        # TYPE overlay_leases_skipped gauge
        overlay_leases_skipped 1
        # HELP overlay_pods_published This node's pods put in etcd from the pods folder.
        # TYPE overlay_pods_published gauge
        overlay_pods_published 3
        # HELP overlay_pod_files_skipped Files of the pods folder skipped because they are not pod records.
        # TYPE overlay_pod_files_skipped gauge
        overlay_pod_files_skipped 2
        # HELP overlay_repairs_total Kernel entries re-created or removed because the kernel differed from etcd.
        # TYPE overlay_repairs_total counter
        overlay_repairs_total 7
        # HELP overlay_etcd_errors_total Failed etcd calls (each retried).
        # TYPE overlay_etcd_errors_total counter
        overlay_etcd_errors_total 4
        # HELP overlay_etcd_reachable 1 while etcd answers a quorum read, 0 after two probes in a row got no answer (the data plane is kept).
        # TYPE overlay_etcd_reachable gauge
        overlay_etcd_reachable 0
        # HELP overlay_etcd_unreachable_seconds Seconds since etcd stopped answering; 0 while it answers.
        # TYPE overlay_etcd_unreachable_seconds gauge
        overlay_etcd_unreachable_seconds 12.5
        # HELP overlay_reconcile_duration_seconds Time to compare the kernel with etcd and apply the difference.
        # TYPE overlay_reconcile_duration_seconds summary
        overlay_reconcile_duration_seconds_sum 0.1817302
        overlay_reconcile_duration_seconds_count 3
        # HELP overlay_reconcile_last_duration_seconds Duration of the last reconcile.
        # TYPE overlay_reconcile_last_duration_seconds gauge
        overlay_reconcile_last_duration_seconds 0.0572446
        # HELP overlay_watch_lag_seconds Time from the last etcd change reaching overlayd to the kernel holding it.
        # TYPE overlay_watch_lag_seconds gauge
        overlay_watch_lag_seconds 0.0309428
        # HELP overlay_services Services whose rules this node holds.
        # TYPE overlay_services gauge
        overlay_services 5
        # HELP overlay_service_frontends ClusterIP, protocol and port combinations in the service rules.
        # TYPE overlay_service_frontends gauge
        overlay_service_frontends 6
        # HELP overlay_registry_skipped_total Service and pod values in etcd skipped because they could not be read.
        # TYPE overlay_registry_skipped_total counter
        overlay_registry_skipped_total 8
        # HELP overlay_service_sync_last_duration_seconds Duration of the last change of the service rules.
        # TYPE overlay_service_sync_last_duration_seconds gauge
        overlay_service_sync_last_duration_seconds 0.1337629
        # HELP overlay_ready 1 once the device, rules and subnet file are in place.
        # TYPE overlay_ready gauge
        overlay_ready 1
        # HELP process_resident_memory_bytes Resident memory size in bytes.
        # TYPE process_resident_memory_bytes gauge
        process_resident_memory_bytes 90116096
        # HELP overlay_gc_heap_bytes Managed heap size after the last garbage collection, live objects and fragmentation.
        # TYPE overlay_gc_heap_bytes gauge
        overlay_gc_heap_bytes 3066472
        # HELP overlay_gc_fragmented_bytes Free space inside the managed heap after the last garbage collection.
        # TYPE overlay_gc_fragmented_bytes gauge
        overlay_gc_fragmented_bytes 1679784
        # HELP overlay_gc_committed_bytes Memory the garbage collector holds from the system.
        # TYPE overlay_gc_committed_bytes gauge
        overlay_gc_committed_bytes 4698112
        # HELP overlay_gc_collections_total Garbage collections of any generation.
        # TYPE overlay_gc_collections_total counter
        overlay_gc_collections_total 2

        """;

    /// <summary>The process's own figures (memory, the GC) differ from run to run: only their form is pinned.</summary>
    internal static readonly string[] ProcessFamilies =
        ["process_resident_memory_bytes", "overlay_gc_heap_bytes", "overlay_gc_fragmented_bytes", "overlay_gc_committed_bytes", "overlay_gc_collections_total"];

    internal static readonly string[] ServiceFamilies =
        ["overlay_services", "overlay_service_frontends", "overlay_registry_skipped_total", "overlay_service_sync_last_duration_seconds"];

    /// <summary>A status whose every value is set, so that every family is written with a value of its own.</summary>
    internal static DaemonStatus StatusWithEveryValueSet(FakeTimeProvider time) => SetEveryValue(new DaemonStatus(time), time);

    internal static DaemonStatus SetEveryValue(DaemonStatus status, FakeTimeProvider time)
    {
        status.SetLeaseExpiration(time.GetUtcNow().AddMilliseconds(86_361_308));
        status.SetPeers(12, 1);
        status.SetPods(3, 2);
        status.AddRepairs(7);
        status.ObserveEtcdFailures(() => 4);
        status.SetEtcdUnreachable((time.GetUtcNow().AddSeconds(-12.5), "no answer within 5 s"));
        status.RecordReconcile(TimeSpan.FromTicks(1_000_000));
        status.RecordReconcile(TimeSpan.FromTicks(244_856));
        status.RecordReconcile(TimeSpan.FromTicks(572_446));
        status.RecordWatchLag(TimeSpan.FromTicks(309_428));
        status.SetServices(5, 6, 8);
        status.RecordServiceSync(TimeSpan.FromTicks(1_337_629));
        status.MarkReady();
        return status;
    }

    [Test]
    public void The_metrics_text_is_byte_for_byte_the_pinned_one()
    {
        var time = new FakeTimeProvider(T0);
        using DaemonStatus status = StatusWithEveryValueSet(time);
        string metrics = status.RenderMetrics();

        Assert.That(WithProcessValuesMasked(metrics), Is.EqualTo(WithProcessValuesMasked(Pinned)));
        Assert.That(ProcessFamilies.Select(f => Sample(metrics, f)), Has.All.Match(@"^\d+$"), "process figures are whole numbers of bytes or collections");
    }

    [Test]
    public void Without_service_rules_the_service_families_are_left_out_and_nothing_else_changes()
    {
        var time = new FakeTimeProvider(T0);
        using DaemonStatus status = StatusWithEveryValueSet(time);
        status.SetServices(-1, 0, 0);

        string metrics = status.RenderMetrics();

        Assert.That(WithProcessValuesMasked(metrics), Is.EqualTo(WithProcessValuesMasked(WithoutFamilies(Pinned, ServiceFamilies))));
    }

    [Test]
    public void A_fresh_status_writes_NaN_for_the_lease_and_zeros_elsewhere()
    {
        using var status = new DaemonStatus(new FakeTimeProvider(T0));
        string metrics = status.RenderMetrics();

        Assert.That(Sample(metrics, "overlay_lease_expiry_seconds"), Is.EqualTo("NaN"));
        Assert.That(Sample(metrics, "overlay_reconcile_duration_seconds_sum"), Is.EqualTo("0"));
        Assert.That(Sample(metrics, "overlay_etcd_reachable"), Is.EqualTo("1"));
        Assert.That(Sample(metrics, "overlay_ready"), Is.EqualTo("0"));
        Assert.That(metrics, Does.Not.Contain("overlay_services"));
    }

    /// <summary>The text with every sample's value replaced by its form (so two scrapes of different moments compare).</summary>
    internal static string Shape(string metrics) =>
        Regex.Replace(metrics, @"^([a-z_]+) (-?\d+(\.\d+)?(E[-+]\d+)?|\+Inf|NaN)$", "$1 <value>", RegexOptions.Multiline);

    internal static string WithoutFamilies(string metrics, IEnumerable<string> families)
    {
        var drop = families.ToHashSet(StringComparer.Ordinal);
        return string.Concat(metrics.Split('\n').SkipLast(1)
            .Where(line => !drop.Contains(FamilyOf(line)))
            .Select(line => line + "\n"));
    }

    private static string FamilyOf(string line) => line.StartsWith('#') ? line.Split(' ')[2] : line.Split(' ')[0];

    private static string WithProcessValuesMasked(string metrics) =>
        string.Concat(metrics.Split('\n').SkipLast(1)
            .Select(line => ProcessFamilies.Contains(line.Split(' ')[0]) ? line.Split(' ')[0] + " <value>" : line)
            .Select(line => line + "\n"));

    internal static string Sample(string metrics, string name) =>
        metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..];
}
