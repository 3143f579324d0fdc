using Overlay.Cni.Protocol;
using Overlay.Core.Services;

namespace Overlay.Cni.Pods;

/// <summary>
/// The Kubernetes pod a runtime names in CNI_ARGS (<c>K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;...</c>), as
/// kubelet's runtimes (containerd, CRI-O) pass it.
/// </summary>
public sealed record PodIdentity(string Namespace, string Name)
{
    public const string NamespaceArg = "K8S_POD_NAMESPACE";
    public const string NameArg = "K8S_POD_NAME";

    /// <summary>The pod's file name in the pods folder; '_' is in neither a namespace nor a pod name, so it splits back.</summary>
    public string FileName => $"{Namespace}_{Name}.json";

    /// <summary>
    /// The pod named in CNI_ARGS, or null when it names none (no K8S_POD_NAMESPACE or K8S_POD_NAME: not a
    /// Kubernetes pod). A name that could not name a file and an etcd key is a CNI error naming it.
    /// </summary>
    public static PodIdentity? FromCniArgs(string? cniArgs)
    {
        IReadOnlyDictionary<string, string> args = Parse(cniArgs);
        if (!args.TryGetValue(NamespaceArg, out string? ns) || ns.Length == 0 || !args.TryGetValue(NameArg, out string? name) || name.Length == 0)
        {
            return null;
        }

        if (!PodLabels.IsValidNamespace(ns, out string reason) || !PodLabels.IsValidPodName(name, out reason))
        {
            throw new CniException(CniErrorCode.InvalidEnvironment, $"CNI_ARGS: {reason}");
        }

        return new PodIdentity(ns, name);
    }

    /// <summary>CNI_ARGS' <c>K=V;K=V</c> pairs; a pair without '=' is ignored (the spec lets plugins ignore what they do not know).</summary>
    public static IReadOnlyDictionary<string, string> Parse(string? cniArgs)
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in (cniArgs ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                args[pair[..equals]] = pair[(equals + 1)..];
            }
        }

        return args;
    }
}
