using System.Globalization;
using System.Net;
using System.Text;

namespace Overlay.Daemon.Masquerade;

/// <summary>
/// The nftables rules overlayd keeps in its own tables, <c>ip overlay</c> and, in dual stack, <c>ip6 overlay</c>:
/// flannel's ip-masq rules (same meaning, same order; flanneld's ip6tables rules for IPv6) and the forward-accept
/// rules for the pod network. Pure: renders the script that replaces the tables in one atomic transaction.
/// </summary>
public static class NftRuleset
{
    public const string Family = "ip";
    public const string Family6 = "ip6";
    public const string Table = "overlay";

    /// <summary>kube-proxy's masquerade mark: traffic it marked is left to it, to avoid double NAT.</summary>
    public const string KubeProxyMark = "0x00004000";

    /// <summary>
    /// The script for the IPv4 pod network and, when <paramref name="network6"/> and <paramref name="subnet6"/> are
    /// given, the IPv6 one; without them an <c>ip6 overlay</c> table left from an earlier dual-stack run is removed.
    /// </summary>
    public static string Render(IPNetwork network, IPNetwork subnet, bool ipMasq, bool forwardRules, IPNetwork? network6 = null, IPNetwork? subnet6 = null)
    {
        var text = new StringBuilder();
        AppendTable(text, Family, network, subnet, "224.0.0.0/4", ipMasq, forwardRules);
        if (network6 is { } n6 && subnet6 is { } s6)
        {
            AppendTable(text, Family6, n6, s6, "ff00::/8", ipMasq, forwardRules);
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"table {Family6} {Table} {{}}\ndelete table {Family6} {Table}\n");
        }

        return text.ToString();
    }

    private static void AppendTable(StringBuilder text, string family, IPNetwork network, IPNetwork subnet, string multicast, bool ipMasq, bool forwardRules)
    {
        // Declaring, deleting and declaring again replaces the whole table atomically, whether or not it existed.
        text.Append(CultureInfo.InvariantCulture, $"table {family} {Table} {{}}\ndelete table {family} {Table}\n");
        if (!ipMasq && !forwardRules)
        {
            return;
        }

        text.Append(CultureInfo.InvariantCulture, $"table {family} {Table} {{\n");
        if (ipMasq)
        {
            text.Append(CultureInfo.InvariantCulture, $$"""
                    chain postrouting {
                        type nat hook postrouting priority srcnat; policy accept;
                        meta mark & {{KubeProxyMark}} == {{KubeProxyMark}} return
                        {{family}} saddr {{subnet}} {{family}} daddr {{network}} return
                        {{family}} saddr {{network}} {{family}} daddr {{subnet}} return
                        {{family}} saddr != {{network}} {{family}} daddr {{subnet}} return
                        {{family}} saddr {{network}} {{family}} daddr != {{multicast}} masquerade fully-random
                        {{family}} saddr != {{network}} {{family}} daddr {{network}} masquerade fully-random
                    }

                """);
        }

        if (forwardRules)
        {
            text.Append(CultureInfo.InvariantCulture, $$"""
                    chain forward {
                        type filter hook forward priority filter; policy accept;
                        {{family}} saddr {{network}} accept
                        {{family}} daddr {{network}} accept
                    }

                """);
        }

        text.Append("}\n");
    }
}
