using Overlay.Cli.Commands;

namespace Overlay.Cli.Tests.Parsing;

public sealed class SubnetArgumentTests
{
    [TestCase("198.18.34.0/24")]
    [TestCase("198.18.34.0-24")]
    public void A_subnet_is_accepted_as_CIDR_or_as_its_key(string text)
    {
        SubnetArgument subnet = SubnetArgument.Parse(text);

        Assert.That(subnet.Key, Is.EqualTo(Samples.Key("198.18.34.0-24")));
        Assert.That(subnet.HasIPv6, Is.False);
        Assert.That(subnet.Matches(Samples.Key("198.18.34.0-24&2001:db8:0:22::-64")), Is.True, "an IPv4-only argument names the dual-stack lease too");
    }

    [TestCase("198.18.34.0-24&2001:db8:0:22::-64")]
    [TestCase("198.18.34.0/24&2001:db8:0:22::/64")]
    [TestCase("198.18.34.0-24&2001:0db8:0000:0022:0000:0000:0000:0000-64")]
    public void A_dual_stack_subnet_is_accepted_in_key_form(string text)
    {
        SubnetArgument subnet = SubnetArgument.Parse(text);

        Assert.That(subnet.Key.ToString(), Is.EqualTo("198.18.34.0-24&2001:db8:0:22::-64"));
        Assert.That(subnet.Matches(Samples.Key("198.18.34.0-24")), Is.False);
    }

    [TestCase("198.18.34", "'198.18.34' has no prefix length")]
    [TestCase("198.18.34/24", "'198.18.34' is not an IPv4 address")]
    [TestCase("198.18.34.1/24", "198.18.34.1/24 has host bits set; the subnet is 198.18.34.0/24")]
    [TestCase("198.18.34.0/33", "'33' is not a prefix length (0..32)")]
    [TestCase("2001:db8::/64", "'2001:db8::' is not an IPv4 address (the first half is always IPv4)")]
    [TestCase("198.18.34.0-24&198.18.35.0-24", "'198.18.35.0' is not an IPv6 address")]
    [TestCase("a&b&c", "more than one '&'")]
    [TestCase("", "has no prefix length")]
    public void A_malformed_subnet_is_a_usage_error_naming_the_problem(string text, string message)
    {
        var error = Assert.Throws<UsageException>(() => SubnetArgument.Parse(text));
        Assert.That(error!.Message, Does.Contain(message));
        Assert.That(error.Message, Does.Contain("give it as 198.18.34.0/24, 198.18.34.0-24 or 198.18.34.0-24&2001:db8:0:22::-64"));
    }
}
