using System.Globalization;
using System.Net;
using System.Text;
using Overlay.Core.Config;
using Overlay.Core.Leases;

namespace Overlay.Daemon.Masquerade;

/// <summary>
/// The nftables rules overlayd keeps in its own tables, <c>ip overlay</c> and, in dual stack, <c>ip6 overlay</c>:
/// flannel's ip-masq rules (same meaning, same order; flanneld's ip6tables rules for IPv6) and the forward-accept
/// rules for the pod network. Pure: decides which tables exist (<see cref="Plan(NetworkConfig, SubnetKey, bool, bool)"/>)
/// and renders the script that replaces them in one atomic transaction.
/// </summary>
public static class NftRuleset
{
    public const string Family = "ip";
    public const string Family6 = "ip6";
    public const string Table = "overlay";

    /// <summary>kube-proxy's masquerade mark: traffic it marked is left to it, to avoid double NAT.</summary>
    public const string KubeProxyMark = "0x00004000";

    /// <summary>
    /// Which of overlayd's tables exist and what they hold: with <c>--ip-masq</c> or forward rules on, <c>ip overlay</c>
    /// and, in dual stack (an IPv6 network in the config and an IPv6 subnet in the lease), <c>ip6 overlay</c>; every
    /// other table is absent, so one left by an earlier run is removed.
    /// </summary>
    public static NftRulesPlan Plan(NetworkConfig config, SubnetKey subnet, bool ipMasq, bool forwardRules) =>
        Plan(config.Network, subnet.IPv4, ipMasq, forwardRules, config.IPv6?.Network, subnet.IPv6);

    /// <summary>The plan for the IPv4 pod network and, when <paramref name="network6"/> and <paramref name="subnet6"/> are given, the IPv6 one.</summary>
    public static NftRulesPlan Plan(IPNetwork network, IPNetwork subnet, bool ipMasq, bool forwardRules, IPNetwork? network6 = null, IPNetwork? subnet6 = null)
    {
        bool any = ipMasq || forwardRules;
        return new NftRulesPlan(
        [
            new NftTablePlan(Family, any ? Definition(Family, network, subnet, "224.0.0.0/4", ipMasq, forwardRules) : null),
            new NftTablePlan(Family6, any && network6 is { } n6 && subnet6 is { } s6 ? Definition(Family6, n6, s6, "ff00::/8", ipMasq, forwardRules) : null),
        ]);
    }

    /// <summary>
    /// The script for the IPv4 pod network and, when <paramref name="network6"/> and <paramref name="subnet6"/> are
    /// given, the IPv6 one; without them an <c>ip6 overlay</c> table left from an earlier dual-stack run is removed.
    /// </summary>
    public static string Render(IPNetwork network, IPNetwork subnet, bool ipMasq, bool forwardRules, IPNetwork? network6 = null, IPNetwork? subnet6 = null) =>
        Plan(network, subnet, ipMasq, forwardRules, network6, subnet6).Script;

    /// <summary>The table's definition, <c>table ip overlay { ... }</c>.</summary>
    private static string Definition(string family, IPNetwork network, IPNetwork subnet, string multicast, bool ipMasq, bool forwardRules)
    {
        var text = new StringBuilder();
        AppendTable(text, family, network, subnet, multicast, ipMasq, forwardRules);
        return text.ToString();
    }

    private static void AppendTable(StringBuilder text, string family, IPNetwork network, IPNetwork subnet, string multicast, bool ipMasq, bool forwardRules)
    {
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

/// <summary>One of overlayd's tables: present with its definition, or absent (removed if an earlier run left it).</summary>
public sealed record NftTablePlan(string Family, string? Definition)
{
    public bool IsPresent => Definition is not null;

    /// <summary>Declaring, deleting and declaring again replaces the whole table atomically, whether or not it existed.</summary>
    public string Script => $"table {Family} {NftRuleset.Table} {{}}\ndelete table {Family} {NftRuleset.Table}\n{Definition}";
}

/// <summary>What overlayd's nftables tables should be: <c>ip overlay</c> then <c>ip6 overlay</c>, each present or absent.</summary>
public sealed record NftRulesPlan(IReadOnlyList<NftTablePlan> Tables)
{
    /// <summary>The tables that should exist, the ones a check reads back.</summary>
    public IEnumerable<NftTablePlan> Present => Tables.Where(t => t.IsPresent);

    /// <summary>The nft script that makes every table as planned, in one transaction.</summary>
    public string Script => string.Concat(Tables.Select(t => t.Script));
}
