using System.Diagnostics.Metrics;

namespace Overlay.Daemon.Health;

/// <summary>
/// What overlayd knows about itself, for /readyz, /metrics and the <see cref="DaemonMeter.Name"/> meter: written by
/// the reconciler and the lease loop, read by the health server and by metric listeners. Every member is safe to use
/// from any thread.
/// </summary>
public sealed class DaemonStatus : IDisposable
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
    private string? _activity;

    private readonly DaemonMeter _meter;

    public DaemonStatus(TimeProvider time)
    {
        _time = time;
        Metrics = Describe();
        _meter = new DaemonMeter(Metrics);
    }

    /// <summary>Every figure, in the order /metrics writes them.</summary>
    public IReadOnlyList<DaemonMetric> Metrics { get; }

    /// <summary>The instruments of the figures (a meter per status, so tests' statuses do not mix).</summary>
    public Meter Meter => _meter.Meter;

    public bool IsReady => Volatile.Read(ref _ready) == 1;

    public long PeersProgrammed => Interlocked.Read(ref _peers);

    public long Repairs => Interlocked.Read(ref _repairs);

    public void MarkReady() => Volatile.Write(ref _ready, 1);

    /// <summary>What start-up is doing or waiting for (systemd's status line), for /readyz before ready.</summary>
    public string? Activity => Volatile.Read(ref _activity);

    public void SetActivity(string text) => Volatile.Write(ref _activity, text);

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
        _meter.RecordReconcile(duration);
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
    public string RenderMetrics() => PrometheusText.Write(Metrics);

    public void Dispose() => _meter.Dispose();

    private DaemonMetric[] Describe() =>
    [
        new("overlay_lease_expiry_seconds", MetricKind.Gauge, "overlay.lease.expiry", "s", WholeNumber: false,
            "Seconds until this node's lease expires (+Inf for a reservation, NaN before the first lease).", () => LeaseExpirySeconds()),
        new("overlay_peers_programmed", MetricKind.Gauge, "overlay.peers.programmed", "{node}", WholeNumber: true,
            "Remote nodes whose route, neighbour and FDB entry are programmed.", () => PeersProgrammed),
        new("overlay_leases_skipped", MetricKind.Gauge, "overlay.leases.skipped", "{lease}", WholeNumber: true,
            "Leases in etcd that cannot be programmed (bad value, other backend, overlap).", () => Interlocked.Read(ref _skippedLeases)),
        new("overlay_pods_published", MetricKind.Gauge, "overlay.pods.published", "{pod}", WholeNumber: true,
            "This node's pods put in etcd from the pods folder.", () => Interlocked.Read(ref _podsPublished)),
        new("overlay_pod_files_skipped", MetricKind.Gauge, "overlay.pod_files.skipped", "{file}", WholeNumber: true,
            "Files of the pods folder skipped because they are not pod records.", () => Interlocked.Read(ref _podFilesSkipped)),
        new("overlay_repairs_total", MetricKind.Counter, "overlay.repairs", "{entry}", WholeNumber: true,
            "Kernel entries re-created or removed because the kernel differed from etcd.", () => Repairs),
        new("overlay_etcd_errors_total", MetricKind.Counter, "overlay.etcd.errors", "{call}", WholeNumber: true,
            "Failed etcd calls (each retried).", () => _etcdFailures?.Invoke() ?? 0),
        new("overlay_etcd_reachable", MetricKind.Gauge, "overlay.etcd.reachable", null, WholeNumber: true,
            "1 while etcd answers a quorum read, 0 after two probes in a row got no answer (the data plane is kept).", () => EtcdUnreachable is null ? 1 : 0),
        new("overlay_etcd_unreachable_seconds", MetricKind.Gauge, "overlay.etcd.unreachable", "s", WholeNumber: false,
            "Seconds since etcd stopped answering; 0 while it answers.", () => EtcdUnreachable is { } u ? Math.Max(0, (_time.GetUtcNow() - u.Since).TotalSeconds) : 0),
        new("overlay_reconcile_duration_seconds", MetricKind.Summary, "overlay.reconcile.duration", "s", WholeNumber: false,
            "Time to compare the kernel with etcd and apply the difference.", () => Seconds(ref _reconcileTicks), () => Interlocked.Read(ref _reconciles)),
        new("overlay_reconcile_last_duration_seconds", MetricKind.Gauge, "overlay.reconcile.last_duration", "s", WholeNumber: false,
            "Duration of the last reconcile.", () => Seconds(ref _lastReconcileTicks)),
        new("overlay_watch_lag_seconds", MetricKind.Gauge, "overlay.watch.lag", "s", WholeNumber: false,
            "Time from the last etcd change reaching overlayd to the kernel holding it.", () => Seconds(ref _watchLagTicks)),
        new("overlay_services", MetricKind.Gauge, "overlay.services", "{service}", WholeNumber: true,
            "Services whose rules this node holds.", () => WithServiceRules(Services)),
        new("overlay_service_frontends", MetricKind.Gauge, "overlay.service_frontends", "{frontend}", WholeNumber: true,
            "ClusterIP, protocol and port combinations in the service rules.", () => WithServiceRules(Interlocked.Read(ref _serviceFrontends))),
        new("overlay_registry_skipped_total", MetricKind.Counter, "overlay.registry.skipped", "{value}", WholeNumber: true,
            "Service and pod values in etcd skipped because they could not be read.", () => WithServiceRules(Interlocked.Read(ref _registrySkipped))),
        new("overlay_service_sync_last_duration_seconds", MetricKind.Gauge, "overlay.service_sync.last_duration", "s", WholeNumber: false,
            "Duration of the last change of the service rules.", () => WithServiceRules(Seconds(ref _serviceSyncTicks))),
        new("overlay_ready", MetricKind.Gauge, "overlay.ready", null, WholeNumber: true,
            "1 once the device, rules and subnet file are in place.", () => IsReady ? 1 : 0),
        new("process_resident_memory_bytes", MetricKind.Gauge, "process.resident_memory", "By", WholeNumber: true,
            "Resident memory size in bytes.", () => ProcessMemory.ResidentBytes()),
        new("overlay_gc_heap_bytes", MetricKind.Gauge, "overlay.gc.heap", "By", WholeNumber: true,
            "Managed heap size after the last garbage collection, live objects and fragmentation.", () => ProcessMemory.Heap().HeapBytes),
        new("overlay_gc_fragmented_bytes", MetricKind.Gauge, "overlay.gc.fragmented", "By", WholeNumber: true,
            "Free space inside the managed heap after the last garbage collection.", () => ProcessMemory.Heap().FragmentedBytes),
        new("overlay_gc_committed_bytes", MetricKind.Gauge, "overlay.gc.committed", "By", WholeNumber: true,
            "Memory the garbage collector holds from the system.", () => ProcessMemory.Heap().CommittedBytes),
        new("overlay_gc_collections_total", MetricKind.Counter, "overlay.gc.collections", "{collection}", WholeNumber: true,
            "Garbage collections of any generation.", () => GC.CollectionCount(0)),
    ];

    private double LeaseExpirySeconds()
    {
        long expiry = Interlocked.Read(ref _leaseExpiryUnixMs);
        return expiry switch
        {
            long.MinValue => double.NaN,
            long.MaxValue => double.PositiveInfinity,
            _ => (expiry - _time.GetUtcNow().ToUnixTimeMilliseconds()) / 1000.0,
        };
    }

    private static double Seconds(ref long ticks) => TimeSpan.FromTicks(Interlocked.Read(ref ticks)).TotalSeconds;

    /// <summary>The service figures exist only while overlayd keeps service rules.</summary>
    private double? WithServiceRules(double value) => Services >= 0 ? value : null;
}
