using Microsoft.Extensions.Logging;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Etcd;

namespace Overlay.Daemon.Health;

/// <summary>
/// Asks etcd every <see cref="Interval"/> whether it answers a quorum read, and keeps <see cref="DaemonStatus"/> (so
/// /readyz and /metrics) and the log current. With the default day-long lease overlayd may call etcd only once a day
/// and its watch stays open and silent when etcd loses its quorum: only a probe tells that etcd stopped answering.
/// It triggers nothing: the data plane stays as it is, and the watch and the lease keeper catch up on their own.
/// </summary>
public sealed partial class EtcdProbeSource(EtcdSession session, DaemonStatus status, ILogger logger, TimeProvider time) : ITriggerSource
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly EtcdReachability _reachability = new();

    public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            string? problem = await session.ProbeAsync(ct);
            if (!_reachability.Observe(problem, time.GetUtcNow()))
            {
                continue;
            }

            if (_reachability is { IsReachable: false, UnreachableSince: { } since, Problem: { } why })
            {
                status.SetEtcdUnreachable((since, why));
                LogUnreachable(logger, string.Join(",", session.Options.Endpoints), why);
            }
            else
            {
                status.SetEtcdUnreachable(null);
                LogReachable(logger);
            }
        }
    }

    [LoggerMessage(1060, LogLevel.Warning, "etcd is unreachable ({Endpoints}: {Problem}); the data plane stays as etcd last described it, and changes are caught up when it answers")]
    private static partial void LogUnreachable(ILogger logger, string endpoints, string problem);

    [LoggerMessage(1061, LogLevel.Information, "etcd answers again")]
    private static partial void LogReachable(ILogger logger);
}
