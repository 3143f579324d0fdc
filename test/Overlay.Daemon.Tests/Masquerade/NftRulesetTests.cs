using System.Net;
using Overlay.Daemon.Masquerade;

namespace Overlay.Daemon.Tests.Masquerade;

public class NftRulesetTests
{
    private static readonly IPNetwork Network = IPNetwork.Parse("198.18.0.0/16");
    private static readonly IPNetwork Subnet = IPNetwork.Parse("198.18.34.0/24");

    [Test]
    public void Masquerading_follows_flannels_rules_in_flannels_order()
    {
        string script = NftRuleset.Render(Network, Subnet, ipMasq: true, forwardRules: false);
        string[] rules = script.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("ip ", StringComparison.Ordinal) || l.StartsWith("meta ", StringComparison.Ordinal)).ToArray();

        Assert.That(rules, Is.EqualTo(new[]
        {
            "meta mark & 0x00004000 == 0x00004000 return",
            "ip saddr 198.18.34.0/24 ip daddr 198.18.0.0/16 return",
            "ip saddr 198.18.0.0/16 ip daddr 198.18.34.0/24 return",
            "ip saddr != 198.18.0.0/16 ip daddr 198.18.34.0/24 return",
            "ip saddr 198.18.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random",
            "ip saddr != 198.18.0.0/16 ip daddr 198.18.0.0/16 masquerade fully-random",
        }));
        Assert.That(script, Does.Not.Contain("chain forward"));
    }

    [Test]
    public void In_dual_stack_the_ip6_table_carries_the_same_rules_for_the_IPv6_network()
    {
        string script = NftRuleset.Render(Network, Subnet, ipMasq: true, forwardRules: true,
            IPNetwork.Parse("2001:db8:100::/48"), IPNetwork.Parse("2001:db8:100:22::/64"));
        string[] rules = script.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("ip6 ", StringComparison.Ordinal)).ToArray();

        Assert.That(rules, Is.EqualTo(new[]
        {
            "ip6 saddr 2001:db8:100:22::/64 ip6 daddr 2001:db8:100::/48 return",
            "ip6 saddr 2001:db8:100::/48 ip6 daddr 2001:db8:100:22::/64 return",
            "ip6 saddr != 2001:db8:100::/48 ip6 daddr 2001:db8:100:22::/64 return",
            "ip6 saddr 2001:db8:100::/48 ip6 daddr != ff00::/8 masquerade fully-random",
            "ip6 saddr != 2001:db8:100::/48 ip6 daddr 2001:db8:100::/48 masquerade fully-random",
            "ip6 saddr 2001:db8:100::/48 accept",
            "ip6 daddr 2001:db8:100::/48 accept",
        }));
        Assert.That(script, Does.Contain("table ip6 overlay {\n"));
    }

    [Test]
    public void A_single_stack_script_removes_an_ip6_table_left_from_dual_stack()
    {
        string script = NftRuleset.Render(Network, Subnet, ipMasq: true, forwardRules: true);
        Assert.That(script, Does.EndWith("table ip6 overlay {}\ndelete table ip6 overlay\n"));
        Assert.That(script, Does.Not.Contain("ip6 saddr"));
    }

    [Test]
    public void Forward_rules_accept_the_pod_network_both_ways()
    {
        string script = NftRuleset.Render(Network, Subnet, ipMasq: false, forwardRules: true);
        Assert.That(script, Does.Contain("ip saddr 198.18.0.0/16 accept").And.Contain("ip daddr 198.18.0.0/16 accept"));
        Assert.That(script, Does.Not.Contain("masquerade"));
    }

    [Test]
    public void The_script_replaces_the_table_atomically_and_nft_accepts_it()
    {
        string script = NftRuleset.Render(Network, Subnet, ipMasq: true, forwardRules: true);
        Assert.That(script, Does.StartWith("table ip overlay {}\ndelete table ip overlay\ntable ip overlay {"));

        Overlay.TestKit.Root.Require(); // checking the script with nft needs root

        using var lab = Overlay.TestKit.NetworkLab.Create();
        Overlay.TestKit.NetNs ns = lab.AddNamespace("nft");
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, script);
            ns.ExecChecked("nft", "-f", file);
            ns.ExecChecked("nft", "-f", file); // and again, over the existing table
            Assert.That(ns.ExecChecked("nft", "list", "table", "ip", "overlay").StdOut, Does.Contain("masquerade random-fully").Or.Contain("masquerade fully-random"));

            // Dual stack, then back to single stack: the ip6 table comes and goes.
            File.WriteAllText(file, NftRuleset.Render(Network, Subnet, ipMasq: true, forwardRules: true,
                IPNetwork.Parse("2001:db8:100::/48"), IPNetwork.Parse("2001:db8:100:22::/64")));
            ns.ExecChecked("nft", "-f", file);
            Assert.That(ns.ExecChecked("nft", "list", "table", "ip6", "overlay").StdOut, Does.Contain("ip6 saddr 2001:db8:100::/48").And.Contain("masquerade"));
            File.WriteAllText(file, script);
            ns.ExecChecked("nft", "-f", file);
            Assert.That(ns.Exec("nft", "list", "table", "ip6", "overlay").ExitCode, Is.Not.Zero);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
