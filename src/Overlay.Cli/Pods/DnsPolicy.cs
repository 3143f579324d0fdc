namespace Overlay.Cli.Pods;

/// <summary>Where a pod's resolv.conf starts from, as Kubernetes' <c>dnsPolicy</c>.</summary>
public enum DnsPolicy
{
    /// <summary>
    /// The cluster DNS service, the cluster search domains followed by the node's, <c>ndots:5</c>; a host-network
    /// pod gets <see cref="Default"/> instead, and so does every pod while no cluster DNS address is known.
    /// </summary>
    ClusterFirst,

    /// <summary>What <see cref="ClusterFirst"/> gives a pod of its own network, for host-network pods too.</summary>
    ClusterFirstWithHostNet,

    /// <summary>The node's own resolv.conf.</summary>
    Default,

    /// <summary>Nothing: the pod's own settings only (at least one nameserver).</summary>
    None,
}

public static class DnsPolicies
{
    /// <summary>The names as Kubernetes spells them, for messages and completion.</summary>
    public static readonly IReadOnlyList<string> Names =
        [nameof(DnsPolicy.ClusterFirst), nameof(DnsPolicy.ClusterFirstWithHostNet), nameof(DnsPolicy.Default), nameof(DnsPolicy.None)];

    public static bool TryParse(string text, out DnsPolicy policy)
    {
        switch (text)
        {
            case nameof(DnsPolicy.ClusterFirst):
                policy = DnsPolicy.ClusterFirst;
                return true;
            case nameof(DnsPolicy.ClusterFirstWithHostNet):
                policy = DnsPolicy.ClusterFirstWithHostNet;
                return true;
            case nameof(DnsPolicy.Default):
                policy = DnsPolicy.Default;
                return true;
            case nameof(DnsPolicy.None):
                policy = DnsPolicy.None;
                return true;
            default:
                policy = default;
                return false;
        }
    }
}
