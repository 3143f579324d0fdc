using Microsoft.Extensions.Logging;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Daemon.Options;
using Overlay.Leases.Etcd;
using Overlay.Leases.Services;
using Overlay.Leases.Store;

namespace Overlay.Daemon.Services;

/// <summary>The pods' part of the loop: the component, the folder's source and the lease keep-alive, added in one call.</summary>
public static class PodPublishing
{
    public static void AddTo(NodeLoop loop, DaemonOptions options, EtcdSession session, Func<OwnLease> own, DaemonStatus status, ILoggerFactory loggers, TimeProvider time)
    {
        string folder = options.EffectivePodsDir;
        var registry = new PodRegistry(session, options.PodTtl, loggers.CreateLogger<PodRegistry>(), time);
        ILogger logger = loggers.CreateLogger("overlayd");
        loop.Add(new PodsComponent(folder, registry, own, status, logger));
        loop.Start(new PodFolderSource(folder, PodsComponent.RescanInterval, time, logger));
        loop.Start(new PodLeaseSource(registry));
    }
}
