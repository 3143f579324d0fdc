using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Overlay.Core.Services;
using Overlay.Daemon.Masquerade;

namespace Overlay.Daemon.Services;

/// <summary>
/// The shape of overlayd's service table, <c>ip overlay-services</c> (<c>ip6 overlay-services</c> for IPv6 services),
/// and its nft text. Every per-service fact is a map or set element, so the per-packet cost and the cost of a
/// change do not grow with the number of services:
/// <list type="bullet">
/// <item><c>service-ips</c>: <c>ClusterIP . proto . port : goto lb-N</c>, N the frontend's endpoint count;</item>
/// <item><c>backends</c>: <c>ClusterIP . proto . port . slot : endpoint . targetPort</c>, slot 0..N-1;</item>
/// <item>chains <c>lb-1</c> to <c>lb-K</c> (K at least 64, more when a service has more endpoints): DNAT to the
/// backend of slot <c>numgen random mod N</c>;</item>
/// <item><c>cluster-dns</c>: <c>DNS address . proto . 53 : listener . 53</c>, this node's own DNS server (checked before
/// the services, so the DNS address answers on every node even if a service claims it);</item>
/// <item><c>cluster-ips</c> (held addresses: refused when not DNATed), <c>hairpin</c> (<c>ep . ep</c>: masqueraded),
/// <c>pod-networks</c> (clients outside it are marked 0x4000 and masqueraded).</item>
/// </list>
/// </summary>
public static class ServiceRuleset
{
    public const string Table = "overlay-services";

    /// <summary>kube-proxy's masquerade mark; overlayd's <c>overlay</c> masquerade table leaves marked packets to this table.</summary>
    public const string MasqueradeMark = NftRuleset.KubeProxyMark;

    /// <summary>
    /// The most element operations one transaction carries. A 10,000-service cold start is about 70,000 elements;
    /// split, each commit holds the nftables lock for tens of milliseconds instead of most of a second.
    /// </summary>
    public const int DefaultTransactionBudget = 10_000;

    public static string FamilyOf(AddressFamily family) => family switch
    {
        AddressFamily.InterNetwork => "ip",
        AddressFamily.InterNetworkV6 => "ip6",
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, "services are IPv4 or IPv6"),
    };

    /// <summary>The lines that make a table hold nothing but the skeleton: replace it whole (declare, delete, declare).</summary>
    internal static void AppendSkeleton(StringBuilder text, AddressFamily family, IPNetwork serviceNetwork, IReadOnlyList<IPNetwork> podNetworks, int lbChains, int token, ClusterDnsRedirect? clusterDns = null)
    {
        string f = FamilyOf(family);
        string addr = family == AddressFamily.InterNetwork ? "ipv4_addr" : "ipv6_addr";
        text.Append(CultureInfo.InvariantCulture, $"table {f} {Table} {{}}\ndelete table {f} {Table}\n");
        text.Append(CultureInfo.InvariantCulture, $$"""
            table {{f}} {{Table}} {
                set canary { type inet_service; elements = { {{token}} }; }
                chain canary { counter comment "{{CanaryComment(token)}}"; }
                set pod-networks { type {{addr}}; flags interval;{{(podNetworks.Count > 0 ? $" elements = {{ {string.Join(", ", podNetworks)} }};" : "")}} }
                set cluster-ips { type {{addr}}; }
                set hairpin { type {{addr}} . {{addr}}; }
                map service-ips { type {{addr}} . inet_proto . inet_service : verdict; }
                map backends { typeof {{f}} daddr . meta l4proto . th dport . numgen random mod 1 : {{f}} daddr . th dport; }
                map cluster-dns { type {{addr}} . inet_proto . inet_service : {{addr}} . inet_service;{{ClusterDnsElements(clusterDns)}} }
                chain services {
                    {{f}} saddr != @pod-networks meta mark set meta mark | {{MasqueradeMark}}
                    {{f}} daddr . meta l4proto . th dport vmap @service-ips
                }
                chain prerouting {
                    type nat hook prerouting priority dstnat; policy accept;
                    dnat {{f}} to {{f}} daddr . meta l4proto . th dport map @cluster-dns
                    {{f}} daddr {{serviceNetwork}} jump services
                }
                chain output {
                    type nat hook output priority -100; policy accept;
                    dnat {{f}} to {{f}} daddr . meta l4proto . th dport map @cluster-dns
                    {{f}} daddr {{serviceNetwork}} jump services
                }
                chain postrouting {
                    type nat hook postrouting priority srcnat; policy accept;
                    meta mark & {{MasqueradeMark}} == {{MasqueradeMark}} masquerade fully-random
                    ct status dnat {{f}} saddr . {{f}} daddr @hairpin masquerade fully-random
                }
                chain unserved {
                    {{f}} daddr @cluster-ips meta l4proto tcp reject with tcp reset
                    {{f}} daddr @cluster-ips reject
                    drop
                }
                chain filter-forward {
                    type filter hook forward priority filter; policy accept;
                    {{f}} daddr {{serviceNetwork}} jump unserved
                }
                chain filter-output {
                    type filter hook output priority filter; policy accept;
                    {{f}} daddr {{serviceNetwork}} jump unserved
                }

            """);
        for (int n = 1; n <= lbChains; n++)
        {
            text.Append(CultureInfo.InvariantCulture, $"    chain {LbChain(n)} {{ {LbRule(family, n)}; }}\n");
        }

        text.Append("}\n");
    }

    /// <summary>The rules each chain of the skeleton holds, for the full check (lb chains: one each).</summary>
    internal static IReadOnlyDictionary<string, int> SkeletonRuleCounts { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["canary"] = 1,
        ["services"] = 2,
        ["prerouting"] = 2,
        ["output"] = 2,
        ["postrouting"] = 2,
        ["unserved"] = 3,
        ["filter-forward"] = 1,
        ["filter-output"] = 1,
    };

    /// <summary>The <c>cluster-dns</c> map's elements: the DNS address's UDP and TCP port 53 to this node's listener.</summary>
    internal static string ClusterDnsElements(ClusterDnsRedirect? redirect)
    {
        if (redirect is not { } r)
        {
            return "";
        }

        string port = ClusterDnsRedirect.Port.ToString(CultureInfo.InvariantCulture);
        string from = Address(r.Address);
        string to = $"{Address(r.Listener)} . {port}";
        return $" elements = {{ {from} . udp . {port} : {to}, {from} . tcp . {port} : {to} }};";
    }

    internal static string CanaryComment(int token) => $"overlay-services {token.ToString(CultureInfo.InvariantCulture)}";

    public static string LbChain(int count) => $"lb-{count.ToString(CultureInfo.InvariantCulture)}";

    internal static string LbRule(AddressFamily family, int count)
    {
        string f = FamilyOf(family);
        return $"dnat {f} to {f} daddr . meta l4proto . th dport . numgen random mod {count.ToString(CultureInfo.InvariantCulture)} map @backends";
    }

    /// <summary>
    /// How many <c>lb-N</c> chains a full load declares for services of up to <paramref name="most"/> endpoints: 64, or
    /// the next multiple of 64. They are all declared up front because nft 1.0.6 cannot add a rule that uses the
    /// <c>backends</c> map once it is in the kernel (it reads the map's <c>typeof ... th dport</c> back as "conflicting
    /// protocols specified: ip vs. th"); a service with more endpoints than the table has chains reloads the table.
    /// </summary>
    public static int LbChainsFor(int most) => Math.Max(MinimumLbChains, (most + MinimumLbChains - 1) / MinimumLbChains * MinimumLbChains);

    public const int MinimumLbChains = 64;

    internal static string Protocol(ServiceProtocol protocol) => protocol switch
    {
        ServiceProtocol.Tcp => "tcp",
        ServiceProtocol.Udp => "udp",
        _ => throw new ArgumentOutOfRangeException(nameof(protocol), protocol, "unknown protocol"),
    };

    /// <summary>An address as nft reads it: no IPv6 scope, IPv4-mapped addresses as IPv4.</summary>
    internal static string Address(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            address = new IPAddress(address.GetAddressBytes());
        }

        return address.ToString();
    }

    internal static string FrontendKey(Frontend frontend) =>
        $"{Address(frontend.ClusterIP)} . {Protocol(frontend.Protocol)} . {frontend.Port.ToString(CultureInfo.InvariantCulture)}";

    internal static string ServiceElement(Frontend frontend, int count) => $"{FrontendKey(frontend)} : goto {LbChain(count)}";

    internal static string BackendKey(Frontend frontend, int slot) => $"{FrontendKey(frontend)} . {slot.ToString(CultureInfo.InvariantCulture)}";

    internal static string BackendElement(Frontend frontend, int slot, Backend backend) =>
        $"{BackendKey(frontend, slot)} : {Address(backend.Address)} . {backend.Port.ToString(CultureInfo.InvariantCulture)}";

    internal static string HairpinElement(IPAddress endpoint) => $"{Address(endpoint)} . {Address(endpoint)}";
}
