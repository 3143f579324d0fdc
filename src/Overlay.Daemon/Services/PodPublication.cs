using Overlay.Core.Services;

namespace Overlay.Daemon.Services;

/// <summary>What to write to etcd so that it holds exactly this node's pods.</summary>
public sealed record PodPublicationPlan(IReadOnlyList<PodRecord> Puts, IReadOnlyList<string> Deletes)
{
    public bool IsEmpty => Puts.Count == 0 && Deletes.Count == 0;
}

/// <summary>
/// The pure decision of the pods component: the pods folder against what was last put. Every pod carries this
/// node's current subnet key as its node (whatever its file says: the lease may have moved since the CNI plugin
/// wrote it); a new or changed pod is put, a pod put before and gone from the folder is deleted.
/// </summary>
public static class PodPublication
{
    /// <param name="folder">The pods folder's pods by <c>namespace/name</c>.</param>
    /// <param name="node">This node's subnet key as text, e.g. <c>198.18.34.0-24</c>.</param>
    /// <param name="published">What etcd holds from this overlayd: <c>namespace/name</c> → the JSON put.</param>
    public static PodPublicationPlan Plan(IReadOnlyDictionary<string, PodRecord> folder, string node, IReadOnlyDictionary<string, string> published)
    {
        var puts = new List<PodRecord>();
        foreach (PodRecord pod in folder.Values.OrderBy(p => p.FullName, StringComparer.Ordinal))
        {
            PodRecord onThisNode = pod.Node == node ? pod : pod with { Node = node };
            if (!published.TryGetValue(pod.FullName, out string? json) || !string.Equals(json, PodCodec.Serialize(onThisNode), StringComparison.Ordinal))
            {
                puts.Add(onThisNode);
            }
        }

        List<string> deletes = published.Keys.Where(name => !folder.ContainsKey(name)).Order(StringComparer.Ordinal).ToList();
        return new PodPublicationPlan(puts, deletes);
    }
}
