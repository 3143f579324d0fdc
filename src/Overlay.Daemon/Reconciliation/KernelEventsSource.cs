using Microsoft.Extensions.Logging;
using Overlay.Daemon.Device;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Reconciliation;

/// <summary>
/// The kernel's notifications, as triggers: one of overlayd's entries deleted by someone (<see cref="Triggers.Kernel"/>),
/// a device changed (<see cref="Triggers.Device"/>), notifications lost (<see cref="Triggers.Resync"/>). overlayd's own
/// deletions are not drift and are dropped here.
/// </summary>
public sealed partial class KernelEventsSource(VxlanDevices devices, KernelReconciler reconciler, ILogger logger) : ITriggerSource
{
    public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
    {
        NetlinkGroups groups = NetlinkGroups.Link | NetlinkGroups.Neighbour;
        foreach (VxlanFamily family in devices.Families)
        {
            groups |= family.MonitorGroups;
        }

        using NetlinkMonitor monitor = NetlinkMonitor.Start(groups);
        await foreach (NetlinkEvent change in monitor.ReadAllAsync(ct))
        {
            if (reconciler.IsOwnDeletion(change))
            {
                continue;
            }

            // A recreated device has a new index: classify against the devices as they are now.
            Triggers kind = KernelEventFilter.Classify(change, devices.Families) switch
            {
                KernelEventMeaning.Repair => Triggers.Kernel,
                KernelEventMeaning.Device => Triggers.Device,
                KernelEventMeaning.Resync => Triggers.Resync,
                _ => Triggers.None,
            };
            if (kind == Triggers.Resync)
            {
                LogMonitorOverrun(logger);
            }

            if (kind != Triggers.None)
            {
                sink.Publish(new Trigger(kind));
            }
        }
    }

    [LoggerMessage(1020, LogLevel.Warning, "kernel event monitor lost events; doing a full resync")]
    private static partial void LogMonitorOverrun(ILogger logger);
}
