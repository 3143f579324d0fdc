using Microsoft.Extensions.Logging;
using Overlay.Core.Leases;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Daemon.Reconciliation;
using Overlay.Leases.Store;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Device;

/// <summary>
/// Keeps the VXLAN device(s) as overlayd made them: recreates a deleted device with its MAC and address, sets
/// a changed MAC back, and moves the address when the own lease moves. A recreated device has lost every
/// entry, so it wakes the peers component (<see cref="Triggers.DeviceRebuilt"/>).
/// </summary>
public sealed partial class DeviceComponent(VxlanDevices devices, Func<OwnLease> own, DaemonStatus status, ITriggerSink sink, ILogger logger) : INodeComponent
{
    private SubnetKey? _addressedFor;

    public string Name => "devices";

    public Triggers Wants => Triggers.Device | Triggers.Resync | Triggers.OwnLease | Triggers.Retry;

    /// <summary>Puts the lease's addresses on the devices (at start, before anything else reads them).</summary>
    public void EnsureAddresses()
    {
        SubnetKey subnet = own().Subnet;
        foreach (VxlanFamily family in devices.Families)
        {
            devices.EnsureAddress(family, subnet);
        }

        _addressedFor = subnet;
    }

    public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        SubnetKey subnet = own().Subnet;
        PassPlan plan = PassPlanner.Plan(batch, new PlannerState(OwnLeaseMoved: subnet != _addressedFor));
        if (!plan.CheckDevices)
        {
            return ValueTask.CompletedTask;
        }

        if (plan.FollowOwnLease)
        {
            LogSubnetChanged(logger, _addressedFor, subnet);
        }

        int repairs = 0;
        bool rebuilt = false;
        foreach (VxlanFamily family in devices.Families)
        {
            DeviceCheck check = devices.CheckDevice(family, subnet);
            repairs += check.Repairs;
            rebuilt |= check.Recreated;
        }

        _addressedFor = subnet;
        if (!plan.FollowOwnLease)
        {
            status.AddRepairs(repairs);
        }

        if (rebuilt)
        {
            sink.Publish(new Trigger(Triggers.DeviceRebuilt));
        }

        return ValueTask.CompletedTask;
    }

    [LoggerMessage(1012, LogLevel.Warning, "this node's subnet changed from {Old} to {New}; reprogramming")]
    private static partial void LogSubnetChanged(ILogger logger, SubnetKey? old, SubnetKey @new);
}
