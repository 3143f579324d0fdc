using Microsoft.Extensions.Logging;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Core.SubnetFile;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Store;

namespace Overlay.Daemon.SubnetFile;

/// <summary>Writes subnet.env for the container runtime and the CNI plugin: at start and when the own lease moves.</summary>
public sealed partial class SubnetFileComponent(string path, NetworkConfig config, int mtu, bool ipMasq, Func<OwnLease> own, ILogger logger) : INodeComponent
{
    private SubnetKey? _writtenFor;

    public string Name => "subnet file";

    public Triggers Wants => Triggers.OwnLease | Triggers.Retry;

    /// <summary>Writes the file if its content changed (an unchanged file keeps its modification time).</summary>
    public void Write()
    {
        OwnLease lease = own();
        var env = new SubnetEnv(config.Network, lease.Subnet, config.IPv6?.Network, mtu, ipMasq);
        if (AtomicFile.WriteIfChanged(path, env.Render()))
        {
            LogWritten(logger, path);
        }

        _writtenFor = lease.Subnet;
    }

    public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        if (PassPlanner.Plan(batch, new PlannerState(OwnLeaseMoved: own().Subnet != _writtenFor)).WriteSubnetFile)
        {
            Write();
        }

        return ValueTask.CompletedTask;
    }

    [LoggerMessage(1005, LogLevel.Information, "wrote {Path}")]
    private static partial void LogWritten(ILogger logger, string path);
}
