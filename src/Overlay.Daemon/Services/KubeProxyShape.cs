using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Overlay.Daemon.Services;

/// <summary>
/// kube-proxy's nftables rule shape (pkg/proxy/nftables) for the same input, for the benchmark to time against
/// <see cref="ServiceRuleset"/>: a chain per service port that picks an endpoint with an anonymous
/// <c>numgen random mod N vmap { ... }</c>, a chain per endpoint that marks hairpin traffic and DNATs, and the
/// <c>service-ips</c> verdict map in front. Not used by overlayd. Pure.
/// </summary>
public static class KubeProxyShape
{
    public const string Table = "overlay-kube-proxy-shape";

    /// <summary>The script that replaces the table with every frontend of <paramref name="input"/>.</summary>
    public static string Render(ServiceRulesInput input)
    {
        AddressFamily family = input.ServiceNetwork.BaseAddress.AddressFamily;
        string f = ServiceRuleset.FamilyOf(family);
        string addr = family == AddressFamily.InterNetwork ? "ipv4_addr" : "ipv6_addr";
        string mark = ServiceRuleset.MasqueradeMark;
        string podNetworks = input.PodNetworks.Count == 0 ? "" : $"{f} saddr != {{ {string.Join(", ", input.PodNetworks)} }} ";
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"table {f} {Table} {{}}\ndelete table {f} {Table}\n");
        text.Append(CultureInfo.InvariantCulture, $$"""
            table {{f}} {{Table}} {
                map service-ips { type {{addr}} . inet_proto . inet_service : verdict; }
                set cluster-ips { type {{addr}}; }
                chain mark-for-masquerade { meta mark set meta mark | {{mark}}; }
                chain masquerading {
                    type nat hook postrouting priority srcnat; policy accept;
                    meta mark & {{mark}} == 0 return
                    meta mark set meta mark ^ {{mark}}
                    masquerade fully-random
                }
                chain services { {{f}} daddr . meta l4proto . th dport vmap @service-ips; }
                chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }
                chain nat-output { type nat hook output priority -100; policy accept; jump services; }
                chain cluster-ips-check {
                    {{f}} daddr @cluster-ips reject
                    {{f}} daddr {{input.ServiceNetwork}} drop
                }
                chain filter-forward { type filter hook forward priority -110; policy accept; ct state new jump cluster-ips-check; }
                chain filter-output { type filter hook output priority -110; policy accept; ct state new jump cluster-ips-check; }
            }

            """);
        foreach ((Frontend frontend, IReadOnlyList<Backend> backends) in input.Frontends)
        {
            if (backends.Count > 0)
            {
                AppendService(text, family, podNetworks, frontend, backends);
            }
        }

        if (input.ClusterIPs.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"add element {f} {Table} cluster-ips {{ {string.Join(", ", input.ClusterIPs.Select(ServiceRuleset.Address))} }}\n");
        }

        return text.ToString();
    }

    /// <summary>The delta that adds one service port (kube-proxy's partial sync of one new service).</summary>
    public static string RenderAddition(AddressFamily family, IReadOnlyList<System.Net.IPNetwork> podNetworks, Frontend frontend, IReadOnlyList<Backend> backends)
    {
        string f = ServiceRuleset.FamilyOf(family);
        var text = new StringBuilder();
        AppendService(text, family, podNetworks.Count == 0 ? "" : $"{f} saddr != {{ {string.Join(", ", podNetworks)} }} ", frontend, backends);
        text.Append(CultureInfo.InvariantCulture, $"add element {f} {Table} cluster-ips {{ {ServiceRuleset.Address(frontend.ClusterIP)} }}\n");
        return text.ToString();
    }

    /// <summary>A frontend's chains, as kube-proxy names them (with the address instead of its hash).</summary>
    private static void AppendService(StringBuilder text, AddressFamily family, string fromOutside, Frontend frontend, IReadOnlyList<Backend> backends)
    {
        string f = ServiceRuleset.FamilyOf(family);
        string proto = ServiceRuleset.Protocol(frontend.Protocol);
        string service = $"service-{Name(frontend)}";
        var picks = new StringBuilder();
        for (int i = 0; i < backends.Count; i++)
        {
            Backend backend = backends[i];
            string endpoint = $"endpoint-{Name(frontend)}__{Name(backend)}";
            string address = ServiceRuleset.Address(backend.Address);
            string target = family == AddressFamily.InterNetwork ? $"{address}:{backend.Port}" : $"[{address}]:{backend.Port}";
            text.Append(CultureInfo.InvariantCulture, $"add chain {f} {Table} {endpoint} {{ {f} saddr {address} jump mark-for-masquerade; meta l4proto {proto} dnat to {target}; }}\n");
            picks.Append(CultureInfo.InvariantCulture, $"{(i > 0 ? ", " : "")}{i} : goto {endpoint}");
        }

        text.Append(CultureInfo.InvariantCulture, $"add chain {f} {Table} {service} {{ {f} daddr {ServiceRuleset.Address(frontend.ClusterIP)} {proto} dport {frontend.Port} {fromOutside}jump mark-for-masquerade; numgen random mod {backends.Count} vmap {{ {picks} }}; }}\n");
        text.Append(CultureInfo.InvariantCulture, $"add element {f} {Table} service-ips {{ {ServiceRuleset.FrontendKey(frontend)} : goto {service} }}\n");
    }

    private static string Name(Frontend frontend) =>
        $"{ServiceRuleset.Address(frontend.ClusterIP).Replace(':', '_')}/{ServiceRuleset.Protocol(frontend.Protocol)}/p{frontend.Port.ToString(CultureInfo.InvariantCulture)}";

    private static string Name(Backend backend) =>
        $"{ServiceRuleset.Address(backend.Address).Replace(':', '_')}/{backend.Port.ToString(CultureInfo.InvariantCulture)}";
}
