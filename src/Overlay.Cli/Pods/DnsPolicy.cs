namespace Overlay.Cli.Pods;

/// <summary>Where a pod's resolv.conf starts from, as Kubernetes' <c>dnsPolicy</c>.</summary>
public enum DnsPolicy
{
    /// <summary>The cluster DNS service, the cluster search domains followed by the node's, <c>ndots:5</c>.</summary>
    ClusterFirst,

    /// <summary>The node's own resolv.conf.</summary>
    Default,

    /// <summary>Nothing: the pod's own settings only (at least one nameserver).</summary>
    None,
}

public static class DnsPolicies
{
    public static bool TryParse(string text, out DnsPolicy policy)
    {
        switch (text)
        {
            case "ClusterFirst":
                policy = DnsPolicy.ClusterFirst;
                return true;
            case "Default":
                policy = DnsPolicy.Default;
                return true;
            case "None":
                policy = DnsPolicy.None;
                return true;
            default:
                policy = default;
                return false;
        }
    }
}
