using System.Net;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Daemon.Masquerade;

namespace Overlay.Daemon.Tests.Masquerade;

public class NftRulesPlanTests
{
    private static readonly NetworkConfig SingleStack = NetworkConfigParser.Parse("""{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan"}}""");

    private static readonly NetworkConfig DualStack = NetworkConfigParser.Parse(
        """{"Network":"198.18.0.0/16","EnableIPv6":true,"IPv6Network":"2001:db8:100::/48","Backend":{"Type":"vxlan"}}""");

    private static readonly SubnetKey Subnet = new(IPNetwork.Parse("198.18.34.0/24"), null);
    private static readonly SubnetKey DualSubnet = new(IPNetwork.Parse("198.18.34.0/24"), IPNetwork.Parse("2001:db8:100:22::/64"));

    private static string[] PresentFamilies(NftRulesPlan plan) => [.. plan.Present.Select(t => t.Family)];

    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(true, true)]
    public void Single_stack_with_masquerading_or_forward_rules_has_the_ip_table_only(bool ipMasq, bool forwardRules)
    {
        NftRulesPlan plan = NftRuleset.Plan(SingleStack, Subnet, ipMasq, forwardRules);

        Assert.That(plan.Tables.Select(t => t.Family), Is.EqualTo(new[] { "ip", "ip6" }));
        Assert.That(PresentFamilies(plan), Is.EqualTo(new[] { "ip" }));
    }

    [Test]
    public void Dual_stack_with_masquerading_has_both_tables()
    {
        NftRulesPlan plan = NftRuleset.Plan(DualStack, DualSubnet, ipMasq: true, forwardRules: false);

        Assert.That(PresentFamilies(plan), Is.EqualTo(new[] { "ip", "ip6" }));
        Assert.That(plan.Tables[1].Definition, Does.Contain("ip6 saddr 2001:db8:100::/48 ip6 daddr 2001:db8:100:22::/64 return"));
    }

    [Test]
    public void A_lease_without_an_IPv6_subnet_has_no_ip6_table_even_in_a_dual_stack_config()
    {
        NftRulesPlan plan = NftRuleset.Plan(DualStack, Subnet, ipMasq: true, forwardRules: true);

        Assert.That(PresentFamilies(plan), Is.EqualTo(new[] { "ip" }));
    }

    [Test]
    public void With_masquerading_and_forward_rules_off_both_tables_are_absent_and_the_script_removes_them()
    {
        foreach ((NetworkConfig config, SubnetKey subnet) in new[] { (SingleStack, Subnet), (DualStack, DualSubnet) })
        {
            NftRulesPlan plan = NftRuleset.Plan(config, subnet, ipMasq: false, forwardRules: false);

            Assert.That(plan.Present, Is.Empty);
            Assert.That(plan.Script, Is.EqualTo("table ip overlay {}\ndelete table ip overlay\ntable ip6 overlay {}\ndelete table ip6 overlay\n"));
        }
    }

    [Test]
    public void The_plans_script_is_the_rendered_script()
    {
        NftRulesPlan plan = NftRuleset.Plan(DualStack, DualSubnet, ipMasq: true, forwardRules: true);

        Assert.That(plan.Script, Is.EqualTo(NftRuleset.Render(DualStack.Network, DualSubnet.IPv4, true, true, DualStack.IPv6!.Network, DualSubnet.IPv6)));
        Assert.That(plan.Tables[0].Script, Does.StartWith("table ip overlay {}\ndelete table ip overlay\ntable ip overlay {\n"));
    }
}
