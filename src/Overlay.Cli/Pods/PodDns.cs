using System.Net;

namespace Overlay.Cli.Pods;

/// <summary>What a pod's resolv.conf is made from: the policy's settings and the pod's own dnsConfig.</summary>
public sealed record PodDnsInputs
{
    /// <summary>The cluster DNS service's address; required by <see cref="DnsPolicy.ClusterFirst"/>.</summary>
    public string? ClusterDns { get; init; }

    public string ClusterDomain { get; init; } = PodDns.DefaultClusterDomain;

    /// <summary>The Kubernetes namespace the pod lives in, for the first ClusterFirst search domain.</summary>
    public string Namespace { get; init; } = PodDns.DefaultNamespace;

    public IReadOnlyList<string> Nameservers { get; init; } = [];

    public IReadOnlyList<string> Searches { get; init; } = [];

    public IReadOnlyList<DnsOption> Options { get; init; } = [];
}

/// <summary>
/// A pod's resolv.conf by Kubernetes' rules for dnsPolicy and dnsConfig: the policy's base, then the pod's
/// nameservers and search domains appended with duplicates removed (the first occurrence stays), and the pod's
/// options merged by name with the pod's value winning. Where the kubelet would silently cut a list that grew
/// too long, this refuses, naming the rule.
/// </summary>
public static class PodDns
{
    /// <summary>The resolver reads at most three nameservers (MAXNS); Kubernetes allows no more.</summary>
    public const int MaxNameservers = 3;

    /// <summary>Kubernetes' classic search-domain limit (glibc's MAXDNSRCH before 2.26).</summary>
    public const int MaxSearches = 6;

    public const string DefaultClusterDomain = "cluster.local";

    public const string DefaultNamespace = "default";

    /// <summary>The options ClusterFirst starts from.</summary>
    public static readonly IReadOnlyList<string> ClusterFirstOptions = ["ndots:5"];

    public static string Render(DnsPolicy policy, PodDnsInputs inputs, ResolvConf node) => Resolve(policy, inputs, node).Render();

    /// <summary>The pod's resolv.conf; throws <see cref="InvalidPodSpecException"/> naming the rule a setting breaks.</summary>
    public static ResolvConf Resolve(DnsPolicy policy, PodDnsInputs inputs, ResolvConf node)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(node);
        List<string> podServers = CheckPodNameservers(policy, inputs.Nameservers);
        CheckPodSearches(inputs.Searches);
        ResolvConf start = Base(policy, inputs, node);

        List<string> servers = Distinct(start.Nameservers.Concat(podServers));
        if (servers.Count > MaxNameservers)
        {
            throw new InvalidPodSpecException(
                $"the nameservers merge to {servers.Count} ({string.Join(", ", servers)}: {Describe(start.Nameservers.Count, policy)} then --nameserver), "
                + $"but a pod has at most {MaxNameservers}; give fewer --nameserver"
                + (policy == DnsPolicy.None ? "" : " or use --dns-policy None"));
        }

        List<string> searches = Distinct(start.Searches.Concat(inputs.Searches.Select(s => s.TrimEnd('.'))));
        if (searches.Count > MaxSearches)
        {
            throw new InvalidPodSpecException(
                $"the search domains merge to {searches.Count} ({string.Join(" ", searches)}: {Describe(start.Searches.Count, policy)} then --search), "
                + $"but a pod has at most {MaxSearches}; give fewer --search"
                + (policy == DnsPolicy.None ? "" : " or use --dns-policy None"));
        }

        return new ResolvConf(servers, searches, MergeOptions(start.Options, inputs.Options));
    }

    /// <summary>The policy's starting point, before the pod's own settings.</summary>
    public static ResolvConf Base(DnsPolicy policy, PodDnsInputs inputs, ResolvConf node)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(node);
        switch (policy)
        {
            case DnsPolicy.ClusterFirst:
                if (string.IsNullOrEmpty(inputs.ClusterDns))
                {
                    throw new InvalidPodSpecException("--dns-policy ClusterFirst needs --cluster-dns IP, the cluster DNS service's address (or use --dns-policy Default or None)");
                }

                if (!HostNames.TryParseAddress(inputs.ClusterDns, out IPAddress? clusterDns))
                {
                    throw new InvalidPodSpecException($"--cluster-dns '{inputs.ClusterDns}' is not an IP address");
                }

                CheckDomain("--cluster-domain", inputs.ClusterDomain);
                CheckDomain("--namespace", inputs.Namespace);
                string domain = inputs.ClusterDomain.TrimEnd('.');
                List<string> searches = Distinct(new[] { $"{inputs.Namespace}.svc.{domain}", $"svc.{domain}", domain }.Concat(node.Searches));
                return new ResolvConf([clusterDns.ToString()], searches, ClusterFirstOptions);
            case DnsPolicy.Default:
                return node;
            case DnsPolicy.None:
                return ResolvConf.Empty;
            default:
                throw new ArgumentOutOfRangeException(nameof(policy), policy, "unknown DNS policy");
        }
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

    private static List<string> CheckPodNameservers(DnsPolicy policy, IReadOnlyList<string> nameservers)
    {
        var normalised = new List<string>();
        foreach (string server in nameservers)
        {
            if (!HostNames.TryParseAddress(server, out IPAddress? address))
            {
                throw new InvalidPodSpecException($"--nameserver '{server}' is not an IP address; a nameserver is given by address");
            }

            normalised.Add(address.ToString());
        }

        if (nameservers.Count > MaxNameservers)
        {
            throw new InvalidPodSpecException($"{nameservers.Count} --nameserver given, but a pod has at most {MaxNameservers} nameservers");
        }

        if (policy == DnsPolicy.None && nameservers.Count == 0)
        {
            throw new InvalidPodSpecException("--dns-policy None needs at least one --nameserver: with policy None the pod's nameserver list must hold at least one address");
        }

        return normalised;
    }

    private static void CheckPodSearches(IReadOnlyList<string> searches)
    {
        foreach (string search in searches)
        {
            CheckDomain("--search", search);
        }

        if (searches.Count > MaxSearches)
        {
            throw new InvalidPodSpecException($"{searches.Count} --search given, but a pod has at most {MaxSearches} search domains");
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

    private static string Describe(int baseCount, DnsPolicy policy) => policy switch
    {
        DnsPolicy.ClusterFirst => $"{baseCount} from ClusterFirst",
        DnsPolicy.Default => $"{baseCount} from the node's resolv.conf",
        _ => "none from policy None",
    };

    private static List<string> Distinct(IEnumerable<string> values)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return values.Where(seen.Add).ToList();
    }
}
