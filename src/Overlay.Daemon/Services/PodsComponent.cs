using Grpc.Core;
using Microsoft.Extensions.Logging;
using Overlay.Core.Services;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Leases.Etcd;
using Overlay.Leases.Services;
using Overlay.Leases.Store;

namespace Overlay.Daemon.Services;

/// <summary>
/// Makes etcd hold this node's pods as the pods folder lists them (the CNI plugin writes one file per pod): puts
/// new and changed pods, deletes removed ones, and on its first pass deletes this node's pod keys that have no
/// file (pods removed while overlayd was down). When the own lease moves, every pod is put again with the new
/// node. A file that is not a pod is skipped with one warning and counted.
/// </summary>
public sealed partial class PodsComponent : INodeComponent
{
    /// <summary>The backstop under the folder watch: a full look at the folder this often.</summary>
    public static readonly TimeSpan RescanInterval = TimeSpan.FromSeconds(5);

    private readonly string _folder;
    private readonly PodRegistry _registry;
    private readonly Func<OwnLease> _own;
    private readonly DaemonStatus _status;
    private readonly ILogger _logger;

    // Warned once per file and reason; forgotten when the file is fixed or gone, so a new problem is told again.
    private readonly HashSet<PodFileProblem> _warned = [];
    private Dictionary<string, string>? _published;
    private string? _publishedFor;

    public PodsComponent(string folder, PodRegistry registry, Func<OwnLease> own, DaemonStatus status, ILogger logger)
    {
        _folder = folder;
        _registry = registry;
        _own = own;
        _status = status;
        _logger = logger;
    }

    public string Name => "pods";

    public Triggers Wants => Triggers.PodFiles | Triggers.OwnLease | Triggers.Retry;

    /// <summary>Files of the pods folder skipped at the last pass because they are not pods.</summary>
    public int Skipped { get; private set; }

    public async ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        string node = _own().Subnet.ToString();
        if (!PassPlanner.Plan(batch, new PlannerState(OwnLeaseMoved: node != _publishedFor)).PublishPods)
        {
            return;
        }

        try
        {
            await PublishAsync(node, ct);
        }
        catch (Exception e) when (e is RpcException or Polly.Timeout.TimeoutRejectedException || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            // etcd is away or refused: the loop retries the pass (a retryable failure), overlayd keeps running.
            throw new IOException($"publishing the pods of {_folder} to etcd: {EtcdErrors.Describe(e)}", e);
        }
    }

    private async Task PublishAsync(string node, CancellationToken ct)
    {
        PodFolderScan scan = PodFolder.Read(_folder);
        ReportMalformed(scan.Malformed);

        if (_published is null)
        {
            // First pass: this overlayd has a new etcd lease, so every pod is put again; a pod of this node in etcd
            // without a file was removed while overlayd was down.
            foreach (PodRecord stale in await _registry.ListNodeAsync(node, ct))
            {
                if (!scan.Pods.ContainsKey(stale.FullName) && await _registry.DeleteAsync(stale.Namespace, stale.Name, ct))
                {
                    LogPodDeleted(_logger, stale.FullName, "its file is gone");
                }
            }

            _published = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        PodPublicationPlan plan = PodPublication.Plan(scan.Pods, node, _published);
        foreach (PodRecord pod in plan.Puts)
        {
            await _registry.PutAsync(pod, ct);
            _published[pod.FullName] = PodCodec.Serialize(pod);
            LogPodPut(_logger, pod.FullName, string.Join(",", pod.Addresses), pod.Labels.Count);
        }

        foreach (string name in plan.Deletes)
        {
            int slash = name.IndexOf('/', StringComparison.Ordinal);
            await _registry.DeleteAsync(name[..slash], name[(slash + 1)..], ct);
            _published.Remove(name);
            LogPodDeleted(_logger, name, "its file was removed");
        }

        _publishedFor = node;
        _status.SetPods(_published.Count, Skipped);
    }

    private void ReportMalformed(IReadOnlyList<PodFileProblem> malformed)
    {
        Skipped = malformed.Count;
        _warned.IntersectWith(malformed);
        foreach (PodFileProblem problem in malformed)
        {
            if (_warned.Add(problem))
            {
                LogPodFileSkipped(_logger, problem.Path, problem.Reason);
            }
        }
    }

    [LoggerMessage(1301, LogLevel.Information, "pods: put {Pod} ({Addresses}, {Labels} labels)")]
    private static partial void LogPodPut(ILogger logger, string pod, string addresses, int labels);

    [LoggerMessage(1302, LogLevel.Information, "pods: deleted {Pod}: {Reason}")]
    private static partial void LogPodDeleted(ILogger logger, string pod, string reason);

    [LoggerMessage(1303, LogLevel.Warning, "pods: skipping {Path}: {Reason}")]
    private static partial void LogPodFileSkipped(ILogger logger, string path, string reason);
}
