using Overlay.TestKit;

namespace Overlay.Demo;

/// <summary>
/// For <c>--keep</c>: each node's overlayd output (which the cluster collects in memory) copied into
/// <c>NODE_FOLDER/overlayd.log</c>, beside its subnet.env, a few times a second, so an operator can read it from
/// another terminal while the cluster runs. Stops (with a last copy) on dispose.
/// </summary>
public sealed class DaemonLogFiles : IAsyncDisposable
{
    public const string FileName = "overlayd.log";

    private readonly IReadOnlyList<ClusterNode> _nodes;
    private readonly int[] _copied;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _copying;

    private DaemonLogFiles(IReadOnlyList<ClusterNode> nodes)
    {
        _nodes = nodes;
        _copied = new int[nodes.Count];
        CopyNew();
        _copying = Task.Run(CopyUntilStoppedAsync);
    }

    public static DaemonLogFiles Start(IReadOnlyList<ClusterNode> nodes) => new(nodes);

    /// <summary>Where the node's overlayd log is written.</summary>
    public static string PathOf(ClusterNode node) => Path.Combine(node.Folder, FileName);

    private async Task CopyUntilStoppedAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(250));
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                CopyNew();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void CopyNew()
    {
        for (int i = 0; i < _nodes.Count; i++)
        {
            string output = _nodes[i].DaemonOutput;
            if (output.Length > _copied[i])
            {
                File.AppendAllText(PathOf(_nodes[i]), output[_copied[i]..]);
                _copied[i] = output.Length;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _copying;
        CopyNew();
        _stop.Dispose();
    }
}
