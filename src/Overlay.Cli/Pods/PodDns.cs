using System.Net;
using System.Net.Sockets;

namespace Overlay.Cli.Pods;

/// <summary>What a pod's resolv.conf is made from: the cluster's DNS settings, the pod's place, and its own dnsConfig.</summary>
public sealed record PodDnsInputs
{
    /// <summary>The cluster DNS service's address; without one, ClusterFirst falls back to Default.</summary>
    public string? ClusterDns { get; init; }

    /// <summary>The cluster's domain, used as given; empty means no cluster search domains (as the kubelet with no --cluster-domain).</summary>
    public string ClusterDomain { get; init; } = PodDns.DefaultClusterDomain;

    /// <summary>The Kubernetes namespace the pod lives in, for the first ClusterFirst search domain (checked by pod run, used as given here).</summary>
    public string Namespace { get; init; } = PodDns.DefaultNamespace;

    /// <summary>The pod shares its node's network namespace (<c>hostNetwork: true</c>).</summary>
    public bool HostNetwork { get; init; }

    /// <summary>The node's addresses; only read when the node has no resolv.conf, to pick 127.0.0.1 or ::1.</summary>
    public IReadOnlyList<IPAddress> NodeAddresses { get; init; } = [];

    public IReadOnlyList<string> Nameservers { get; init; } = [];

    public IReadOnlyList<string> Searches { get; init; } = [];

    public IReadOnlyList<DnsOption> Options { get; init; } = [];

    /// <summary>Whether the pod has a dnsConfig at all: the kubelet only removes duplicates when it does.</summary>
    public bool HasDnsConfig => Nameservers.Count > 0 || Searches.Count > 0 || Options.Count > 0;
}

/// <summary>Where a policy takes the pod's resolv.conf from (the kubelet's podDNSType).</summary>
public enum ResolvSource
{
    /// <summary>The cluster DNS service and the cluster search domains.</summary>
    Cluster,

    /// <summary>The node's resolv.conf.</summary>
    Node,

    /// <summary>Nothing but the pod's own dnsConfig.</summary>
    None,
}

public enum PodDnsWarningKind
{
    /// <summary>A cluster policy without a cluster DNS address: the pod got the node's resolv.conf.</summary>
    ClusterDnsMissing,

    /// <summary>More than three nameservers after merging: the first three were kept.</summary>
    NameserversCut,

    /// <summary>Search domains past the kubelet's limits after merging: those past them were left out.</summary>
    SearchesCut,
}

/// <summary>Something the pod did not get as asked, where the kubelet records a warning event and goes on.</summary>
public sealed record PodDnsWarning(PodDnsWarningKind Kind, string Message);

/// <summary>
/// A pod's resolv.conf by the kubelet's rules (pkg/kubelet/network/dns, <c>GetPodDNS</c>): the policy's base, then
/// the pod's nameservers and search domains appended with duplicates removed (the first occurrence stays), the
/// pod's options merged by name with the pod's value winning, and the result cut to the resolver's limits with a
/// warning. The pod's own lists are held to the mission's limits (3 nameservers, 6 search domains) and refused
/// past them, naming the rule.
/// </summary>
public static class PodDns
{
    /// <summary>The resolver reads at most three nameservers (MAXNS); Kubernetes allows no more, given or merged.</summary>
    public const int MaxNameservers = 3;

    /// <summary>The search domains a pod may give itself: Kubernetes' classic limit, the mission's.</summary>
    public const int MaxPodSearches = 6;

    /// <summary>The kubelet's cut of the merged search list (validation.MaxDNSSearchPaths since ExpandedDNSConfig).</summary>
    public const int MaxSearches = 32;

    /// <summary>The kubelet's cut of the merged search line's length, the spaces included (MaxDNSSearchListChars).</summary>
    public const int MaxSearchLineLength = 2048;

    /// <summary>A longer search domain is left out (some resolvers abort on one; DNS1123SubdomainMaxLength).</summary>
    public const int MaxSearchLength = 253;

    public const string DefaultClusterDomain = "cluster.local";

    public const string DefaultNamespace = "default";

    /// <summary>The options ClusterFirst starts from.</summary>
    public static readonly IReadOnlyList<string> ClusterFirstOptions = ["ndots:5"];

    public static string Render(DnsPolicy policy, PodDnsInputs inputs, ResolvConf? node, ICollection<PodDnsWarning>? warnings = null) =>
        Resolve(policy, inputs, node, warnings).Render();

    /// <summary>
    /// The pod's resolv.conf; <paramref name="node"/> is the node's resolv.conf, null when the node has none
    /// configured (the kubelet's <c>--resolv-conf=""</c>). Throws <see cref="InvalidPodSpecException"/> naming
    /// the rule a setting breaks; what the kubelet would only warn about goes to <paramref name="warnings"/>.
    /// </summary>
    public static ResolvConf Resolve(DnsPolicy policy, PodDnsInputs inputs, ResolvConf? node, ICollection<PodDnsWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        CheckPodSettings(policy, inputs);
        ResolvConf start = Base(policy, inputs, node, warnings);
        ResolvConf merged = inputs.HasDnsConfig
            ? new ResolvConf(
                Distinct(start.Nameservers.Concat(inputs.Nameservers)),
                Distinct(start.Searches.Concat(inputs.Searches)),
                MergeOptions(start.Options, inputs.Options))
            : start;
        return merged with
        {
            Nameservers = FitNameservers(merged.Nameservers, warnings),
            Searches = FitSearches(merged.Searches, warnings),
        };
    }

    /// <summary>
    /// The kubelet's getPodDNSType: ClusterFirst is the cluster's unless the pod shares the node's network, where
    /// it is the node's; ClusterFirstWithHostNet is always the cluster's.
    /// </summary>
    public static ResolvSource SourceOf(DnsPolicy policy, bool hostNetwork) => policy switch
    {
        DnsPolicy.None => ResolvSource.None,
        DnsPolicy.ClusterFirstWithHostNet => ResolvSource.Cluster,
        DnsPolicy.ClusterFirst => hostNetwork ? ResolvSource.Node : ResolvSource.Cluster,
        DnsPolicy.Default => ResolvSource.Node,
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "unknown DNS policy"),
    };

    /// <summary>The policy's starting point, before the pod's own settings.</summary>
    public static ResolvConf Base(DnsPolicy policy, PodDnsInputs inputs, ResolvConf? node, ICollection<PodDnsWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        switch (SourceOf(policy, inputs.HostNetwork))
        {
            case ResolvSource.None:
                return ResolvConf.Empty;
            case ResolvSource.Cluster when !string.IsNullOrEmpty(inputs.ClusterDns):
                if (!HostNames.TryParseAddress(inputs.ClusterDns, out IPAddress? clusterDns))
                {
                    throw new InvalidPodSpecException($"--cluster-dns '{inputs.ClusterDns}' is not an IP address");
                }

                if (inputs.ClusterDomain.Length > 0)
                {
                    CheckDomain("--cluster-domain", inputs.ClusterDomain);
                }

                return new ResolvConf([clusterDns.ToString()], ClusterSearches(inputs.ClusterDomain, inputs.Namespace, node?.Searches ?? []), ClusterFirstOptions);
            case ResolvSource.Cluster:
                warnings?.Add(new PodDnsWarning(
                    PodDnsWarningKind.ClusterDnsMissing,
                    $"no cluster DNS address is known, so the pod cannot use --dns-policy {policy}; it gets Default's resolv.conf (the node's), as the kubelet does"));
                return NodeBase(inputs, node);
            default:
                return NodeBase(inputs, node);
        }
    }

    /// <summary>
    /// <c>&lt;ns&gt;.svc.&lt;domain&gt; svc.&lt;domain&gt; &lt;domain&gt;</c> then the node's search domains, duplicates
    /// removed; with no cluster domain, the node's alone.
    /// </summary>
    public static IReadOnlyList<string> ClusterSearches(string clusterDomain, string podNamespace, IReadOnlyList<string> nodeSearches)
    {
        if (clusterDomain.Length == 0)
        {
            return nodeSearches;
        }

        return Distinct(new[] { $"{podNamespace}.svc.{clusterDomain}", $"svc.{clusterDomain}", clusterDomain }.Concat(nodeSearches));
    }

    /// <summary>Options by name: the base's order, then new names in the pod's order; the pod's value wins.</summary>
    public static IReadOnlyList<string> MergeOptions(IEnumerable<string> baseOptions, IEnumerable<DnsOption> podOptions)
    {
        var merged = new List<DnsOption>();
        foreach (DnsOption option in baseOptions.Select(DnsOption.Parse).Concat(podOptions))
        {
            int existing = merged.FindIndex(o => o.Name == option.Name);
            if (existing >= 0)
            {
                merged[existing] = option;
            }
            else
            {
                merged.Add(option);
            }
        }

        return merged.Select(o => o.ToString()).ToList();
    }

    /// <summary>The first three nameservers, as the kubelet keeps them, with a warning when there were more.</summary>
    public static IReadOnlyList<string> FitNameservers(IReadOnlyList<string> nameservers, ICollection<PodDnsWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(nameservers);
        if (nameservers.Count <= MaxNameservers)
        {
            return nameservers;
        }

        List<string> kept = nameservers.Take(MaxNameservers).ToList();
        warnings?.Add(new PodDnsWarning(
            PodDnsWarningKind.NameserversCut,
            $"the nameservers merge to {nameservers.Count} ({string.Join(" ", nameservers)}), but a pod has at most {MaxNameservers}; "
            + $"its resolv.conf gets the first {MaxNameservers}: {string.Join(" ", kept)}"));
        return kept;
    }

    /// <summary>
    /// The kubelet's cut of the search list: the first 32, without any longer than 253 characters, then whole
    /// domains off the end until the line is at most 2048 characters; a warning says what was applied.
    /// </summary>
    public static IReadOnlyList<string> FitSearches(IReadOnlyList<string> searches, ICollection<PodDnsWarning>? warnings = null)
    {
        ArgumentNullException.ThrowIfNull(searches);
        List<string> kept = searches.Take(MaxSearches).Where(s => s.Length <= MaxSearchLength).ToList();
        int lineLength = kept.Sum(s => s.Length) + Math.Max(kept.Count - 1, 0);
        while (lineLength > MaxSearchLineLength)
        {
            lineLength -= kept[^1].Length + 1;
            kept.RemoveAt(kept.Count - 1);
        }

        if (kept.Count == searches.Count)
        {
            return searches;
        }

        warnings?.Add(new PodDnsWarning(
            PodDnsWarningKind.SearchesCut,
            $"the search domains went past the limits ({MaxSearches} domains of at most {MaxSearchLength} characters, "
            + $"{MaxSearchLineLength} characters in all), so some were left out; the search line is: {string.Join(" ", kept)}"));
        return kept;
    }

    /// <summary>The node's resolv.conf, or without one the local resolver the resolver library would use.</summary>
    private static ResolvConf NodeBase(PodDnsInputs inputs, ResolvConf? node)
    {
        if (node is not null)
        {
            return node;
        }

        List<string> servers = inputs.NodeAddresses
            .Select(a => a.AddressFamily == AddressFamily.InterNetworkV6 ? "::1" : "127.0.0.1")
            .ToList();
        return new ResolvConf(servers.Count > 0 ? servers : ["127.0.0.1"], ["."], []);
    }

    /// <summary>The mission's limits on what the pod gives itself; these are refused, not cut.</summary>
    private static void CheckPodSettings(DnsPolicy policy, PodDnsInputs inputs)
    {
        foreach (string server in inputs.Nameservers)
        {
            if (!HostNames.TryParseAddress(server, out _))
            {
                throw new InvalidPodSpecException($"--nameserver '{server}' is not an IP address; a nameserver is given by address");
            }
        }

        if (inputs.Nameservers.Count > MaxNameservers)
        {
            throw new InvalidPodSpecException($"{inputs.Nameservers.Count} --nameserver given, but a pod has at most {MaxNameservers} nameservers");
        }

        if (policy == DnsPolicy.None && inputs.Nameservers.Count == 0)
        {
            throw new InvalidPodSpecException("--dns-policy None needs at least one --nameserver: with policy None the pod's nameserver list must hold at least one address");
        }

        foreach (string search in inputs.Searches)
        {
            CheckDomain("--search", search);
        }

        if (inputs.Searches.Count > MaxPodSearches)
        {
            throw new InvalidPodSpecException($"{inputs.Searches.Count} --search given, but a pod has at most {MaxPodSearches} search domains");
        }
    }

    /// <summary>A DNS-1123 subdomain (lower case, digits, '-', dots between labels of 1 to 63), one trailing dot allowed.</summary>
    internal static void CheckDomain(string flag, string name)
    {
        if (!HostNames.IsDnsSubdomain(name.EndsWith('.') ? name[..^1] : name))
        {
            throw new InvalidPodSpecException($"{flag} '{name}' is not a DNS name; use lower-case letters, digits, '-' and '.' (e.g. ns1.svc.cluster.local)");
        }
    }

    private static List<string> Distinct(IEnumerable<string> values)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return values.Where(seen.Add).ToList();
    }
}
