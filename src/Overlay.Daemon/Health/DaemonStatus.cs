using System.Globalization;
using System.Text;

namespace Overlay.Daemon.Health;

/// <summary>
/// What overlayd knows about itself, for /readyz and /metrics: written by the reconciler and the lease
/// loop, read by the health server. Every member is safe to use from any thread.
/// </summary>
public sealed class DaemonStatus
{
    private readonly TimeProvider _time;
    private long _peers;
    private long _repairs;
    private Func<long>? _etcdFailures;
    private long _reconciles;
    private long _reconcileTicks;
    private long _lastReconcileTicks;
    private long _skippedLeases;
    private long _podsPublished;
    private long _podFilesSkipped;
    private long _leaseExpiryUnixMs = long.MinValue;
    private long _watchLagTicks;
    private long _services = -1;
    private long _serviceFrontends;
    private long _registrySkipped;
    private long _serviceSyncTicks;
    private int _ready;
    private readonly Lock _etcdGate = new();
    private (DateTimeOffset Since, string Problem)? _etcdUnreachable;

    public DaemonStatus(TimeProvider time)
    {
        _time = time;
    }

    public bool IsReady => Volatile.Read(ref _ready) == 1;

    public long PeersProgrammed => Interlocked.Read(ref _peers);

    public long Repairs => Interlocked.Read(ref _repairs);

    public void MarkReady() => Volatile.Write(ref _ready, 1);

    public void SetPeers(int count, int skipped)
    {
        Interlocked.Exchange(ref _peers, count);
        Interlocked.Exchange(ref _skippedLeases, skipped);
    }

    /// <summary>This node's pods in etcd, and files of the pods folder that are not pods.</summary>
    public void SetPods(int published, int skipped)
    {
        Interlocked.Exchange(ref _podsPublished, published);
        Interlocked.Exchange(ref _podFilesSkipped, skipped);
    }

    public void AddRepairs(int count) => Interlocked.Add(ref _repairs, count);

    /// <summary>Where the etcd session counts its failed attempts, for overlay_etcd_errors_total.</summary>
    public void ObserveEtcdFailures(Func<long> failures) => _etcdFailures = failures;

    /// <summary>Since when and why etcd does not answer (null: it does), as the etcd probe last found.</summary>
    public (DateTimeOffset Since, string Problem)? EtcdUnreachable
    {
        get
        {
            lock (_etcdGate)
            {
                return _etcdUnreachable;
            }
        }
    }

    public void SetEtcdUnreachable((DateTimeOffset Since, string Problem)? unreachable)
    {
        lock (_etcdGate)
        {
            _etcdUnreachable = unreachable;
        }
    }

    public void RecordReconcile(TimeSpan duration)
    {
        Interlocked.Increment(ref _reconciles);
        Interlocked.Add(ref _reconcileTicks, duration.Ticks);
        Interlocked.Exchange(ref _lastReconcileTicks, duration.Ticks);
    }

    /// <summary>Null for a reservation, which never expires.</summary>
    public void SetLeaseExpiration(DateTimeOffset? expiration) =>
        Interlocked.Exchange(ref _leaseExpiryUnixMs, expiration?.ToUnixTimeMilliseconds() ?? long.MaxValue);

    /// <summary>Time from an etcd change reaching overlayd to the kernel holding it.</summary>
    public void RecordWatchLag(TimeSpan lag) => Interlocked.Exchange(ref _watchLagTicks, lag.Ticks);

    /// <summary>What the service rules hold after a pass: services, frontends (ClusterIP, protocol, port) and registry values skipped so far.</summary>
    public void SetServices(int services, int frontends, long skipped)
    {
        Interlocked.Exchange(ref _services, services);
        Interlocked.Exchange(ref _serviceFrontends, frontends);
        Interlocked.Exchange(ref _registrySkipped, skipped);
    }

    /// <summary>Time the last change of the service rules took, registry update to nftables commit.</summary>
    public void RecordServiceSync(TimeSpan duration) => Interlocked.Exchange(ref _serviceSyncTicks, duration.Ticks);

    /// <summary>Services in the rules; -1 while overlayd keeps no service rules (no ServiceNetwork).</summary>
    public long Services => Interlocked.Read(ref _services);

    /// <summary>Prometheus text exposition format 0.0.4.</summary>
    public string RenderMetrics()
    {
        var text = new StringBuilder(1024);
        long expiry = Interlocked.Read(ref _leaseExpiryUnixMs);
        double expirySeconds = expiry switch
        {
            long.MinValue => double.NaN,
            long.MaxValue => double.PositiveInfinity,
            _ => (expiry - _time.GetUtcNow().ToUnixTimeMilliseconds()) / 1000.0,
        };
        Metric(text, "overlay_lease_expiry_seconds", "gauge", "Seconds until this node's lease expires (+Inf for a reservation, NaN before the first lease).", expirySeconds);
        Metric(text, "overlay_peers_programmed", "gauge", "Remote nodes whose route, neighbour and FDB entry are programmed.", PeersProgrammed);
        Metric(text, "overlay_leases_skipped", "gauge", "Leases in etcd that cannot be programmed (bad value, other backend, overlap).", Interlocked.Read(ref _skippedLeases));
        Metric(text, "overlay_pods_published", "gauge", "This node's pods put in etcd from the pods folder.", Interlocked.Read(ref _podsPublished));
        Metric(text, "overlay_pod_files_skipped", "gauge", "Files of the pods folder skipped because they are not pod records.", Interlocked.Read(ref _podFilesSkipped));
        Metric(text, "overlay_repairs_total", "counter", "Kernel entries re-created or removed because the kernel differed from etcd.", Repairs);
        Metric(text, "overlay_etcd_errors_total", "counter", "Failed etcd calls (each retried).", _etcdFailures?.Invoke() ?? 0);
        (DateTimeOffset Since, string Problem)? unreachable = EtcdUnreachable;
        Metric(text, "overlay_etcd_reachable", "gauge", "1 while etcd answers a quorum read, 0 after two probes in a row got no answer (the data plane is kept).", unreachable is null ? 1 : 0);
        Metric(text, "overlay_etcd_unreachable_seconds", "gauge", "Seconds since etcd stopped answering; 0 while it answers.", unreachable is { } u ? Math.Max(0, (_time.GetUtcNow() - u.Since).TotalSeconds) : 0);
        text.Append("# HELP overlay_reconcile_duration_seconds Time to compare the kernel with etcd and apply the difference.\n# TYPE overlay_reconcile_duration_seconds summary\n");
        text.Append(CultureInfo.InvariantCulture, $"overlay_reconcile_duration_seconds_sum {TimeSpan.FromTicks(Interlocked.Read(ref _reconcileTicks)).TotalSeconds:R}\n");
        text.Append(CultureInfo.InvariantCulture, $"overlay_reconcile_duration_seconds_count {Interlocked.Read(ref _reconciles)}\n");
        Metric(text, "overlay_reconcile_last_duration_seconds", "gauge", "Duration of the last reconcile.", TimeSpan.FromTicks(Interlocked.Read(ref _lastReconcileTicks)).TotalSeconds);
        Metric(text, "overlay_watch_lag_seconds", "gauge", "Time from the last etcd change reaching overlayd to the kernel holding it.", TimeSpan.FromTicks(Interlocked.Read(ref _watchLagTicks)).TotalSeconds);
        if (Services >= 0)
        {
            Metric(text, "overlay_services", "gauge", "Services whose rules this node holds.", Services);
            Metric(text, "overlay_service_frontends", "gauge", "ClusterIP, protocol and port combinations in the service rules.", Interlocked.Read(ref _serviceFrontends));
            Metric(text, "overlay_registry_skipped_total", "counter", "Service and pod values in etcd skipped because they could not be read.", Interlocked.Read(ref _registrySkipped));
            Metric(text, "overlay_service_sync_last_duration_seconds", "gauge", "Duration of the last change of the service rules.", TimeSpan.FromTicks(Interlocked.Read(ref _serviceSyncTicks)).TotalSeconds);
        }

        Metric(text, "overlay_ready", "gauge", "1 once the device, rules and subnet file are in place.", IsReady ? 1 : 0);
        ProcessMetrics(text);
        return text.ToString();
    }

    /// <summary>The daemon's own memory, the figures an operator compares with flanneld's.</summary>
    private static void ProcessMetrics(StringBuilder text)
    {
        if (ResidentBytes() is { } resident)
        {
            Metric(text, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", resident);
        }

        GCMemoryInfo gc = GC.GetGCMemoryInfo();
        Metric(text, "overlay_gc_heap_bytes", "gauge", "Managed heap size after the last garbage collection, live objects and fragmentation.", gc.HeapSizeBytes);
        Metric(text, "overlay_gc_fragmented_bytes", "gauge", "Free space inside the managed heap after the last garbage collection.", gc.FragmentedBytes);
        Metric(text, "overlay_gc_committed_bytes", "gauge", "Memory the garbage collector holds from the system.", gc.TotalCommittedBytes);
        Metric(text, "overlay_gc_collections_total", "counter", "Garbage collections of any generation.", GC.CollectionCount(0));
    }

    /// <summary>VmRSS from /proc/self/status, in bytes; null where it cannot be read.</summary>
    internal static long? ResidentBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    private static void Metric(StringBuilder text, string name, string type, string help, double value)
    {
        string formatted = double.IsPositiveInfinity(value) ? "+Inf" : double.IsNaN(value) ? "NaN" : value.ToString("R", CultureInfo.InvariantCulture);
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n{name} {formatted}\n");
    }
}
