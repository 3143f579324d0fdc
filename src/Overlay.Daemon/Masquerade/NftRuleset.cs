using System.Net;
using System.Text;

namespace Overlay.Daemon.Masquerade;

/// <summary>
/// The nftables rules overlayd keeps in its own table, <c>ip overlay</c>: flannel's ip-masq rules (same
/// meaning, same order) and the forward-accept rules for the pod network. Pure: renders the script that
/// replaces the table in one atomic transaction.
/// </summary>
public static class NftRuleset
{
    public const string Family = "ip";
    public const string Table = "overlay";

    /// <summary>kube-proxy's masquerade mark: traffic it marked is left to it, to avoid double NAT.</summary>
    public const string KubeProxyMark = "0x00004000";

    public static string Render(IPNetwork network, IPNetwork subnet, bool ipMasq, bool forwardRules)
    {
        var text = new StringBuilder();
        // Declaring, deleting and declaring again replaces the whole table atomically, whether or not it existed.
        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"table {Family} {Table} {{}}\ndelete table {Family} {Table}\n");
        if (!ipMasq && !forwardRules)
        {
            return text.ToString();
        }

        text.Append(System.Globalization.CultureInfo.InvariantCulture, $"table {Family} {Table} {{\n");
        if (ipMasq)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $$"""
                    chain postrouting {
                        type nat hook postrouting priority srcnat; policy accept;
                        meta mark & {{KubeProxyMark}} == {{KubeProxyMark}} return
                        ip saddr {{subnet}} ip daddr {{network}} return
                        ip saddr {{network}} ip daddr {{subnet}} return
                        ip saddr != {{network}} ip daddr {{subnet}} return
                        ip saddr {{network}} ip daddr != 224.0.0.0/4 masquerade fully-random
                        ip saddr != {{network}} ip daddr {{network}} masquerade fully-random
                    }

                """);
        }

        if (forwardRules)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $$"""
                    chain forward {
                        type filter hook forward priority filter; policy accept;
                        ip saddr {{network}} accept
                        ip daddr {{network}} accept
                    }

                """);
        }

        text.Append("}\n");
        return text.ToString();
    }
}
