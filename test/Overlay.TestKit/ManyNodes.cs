using System.Globalization;
using System.Text.Json;

namespace Overlay.TestKit;

/// <summary>
/// A whole cluster starting at once (after a power cut): every overlayd started at one moment, and the checks that
/// follow: who is ready, who logged an error, and whether each node's kernel holds every other lease.
/// </summary>
public static class ManyNodes
{
    /// <summary>
    /// Starts overlayd on <paramref name="nodes"/> (default: every node) at one moment: one thread per node, all
    /// released together once each is waiting. Returns the moment of release (local time, as overlayd logs it).
    /// </summary>
    public static DateTime StartDaemonsTogether(this OverlayCluster cluster, IReadOnlyList<ClusterNode>? nodes = null, params string[] extraArgs)
    {
        IReadOnlyList<ClusterNode> starting = nodes ?? cluster.Nodes;
        using var waiting = new CountdownEvent(starting.Count);
        using var go = new ManualResetEventSlim();
        var failures = new List<Exception>();
        var threads = starting.Select(node => new Thread(() =>
        {
            waiting.Signal();
            go.Wait();
            try
            {
                node.StartDaemon(extraArgs);
            }
            catch (Exception e)
            {
                lock (failures)
                {
                    failures.Add(e);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        waiting.Wait();
        DateTime released = DateTime.Now;
        go.Set();
        threads.ForEach(t => t.Join());
        return failures.Count == 0 ? released : throw new AggregateException("overlayd did not start on every node", failures);
    }

    /// <summary>overlayd's error lines (the console's "fail:" and "crit:"), each prefixed with the node's name.</summary>
    public static IReadOnlyList<string> ErrorLines(IEnumerable<ClusterNode> nodes) =>
        nodes.SelectMany(n => n.DaemonOutput.Split('\n')
                .Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains(" crit: ", StringComparison.Ordinal))
                .Select(l => $"{n.Name}: {l.Trim()}"))
            .ToList();

    /// <summary>True once overlayd printed its "ready:" line.</summary>
    public static bool IsReady(ClusterNode node) => node.DaemonOutput.Contains(" ready: ", StringComparison.Ordinal);

    /// <summary>
    /// The local time overlayd printed (its "HH:mm:ss.fff " prefix) on its first line containing <paramref name="text"/>,
    /// on the day of <paramref name="near"/>; null when no line has it.
    /// </summary>
    public static DateTime? LoggedAt(ClusterNode node, string text, DateTime near)
    {
        string? line = node.DaemonOutput.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
        if (line is null || line.Trim().Split(' ')[0] is not { Length: 12 } stamp
            || !TimeOnly.TryParseExact(stamp, "HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.None, out TimeOnly time))
        {
            return null;
        }

        DateTime at = near.Date + time.ToTimeSpan();
        return at - near > TimeSpan.FromHours(12) ? at.AddDays(-1) : near - at > TimeSpan.FromHours(12) ? at.AddDays(1) : at;
    }
}
