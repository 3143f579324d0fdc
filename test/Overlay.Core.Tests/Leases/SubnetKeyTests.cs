using System.Net;
using Overlay.Core.Leases;

namespace Overlay.Core.Tests.Leases;

public class SubnetKeyTests
{
    [TestCase("198.18.34.0-24")]
    [TestCase("100.64.0.0-10")]
    [TestCase("198.18.34.0-24&2001:db8:0:22::-64")]
    [TestCase("0.0.0.0-0")]
    public void A_key_survives_the_round_trip(string text)
    {
        Assert.That(SubnetKey.Parse(text).ToString(), Is.EqualTo(text));
    }

    [Test]
    public void A_dual_stack_key_carries_both_subnets()
    {
        SubnetKey key = SubnetKey.Parse("198.18.34.0-24&2001:db8:0:22::-64");
        Assert.That(key.IPv4, Is.EqualTo(IPNetwork.Parse("198.18.34.0/24")));
        Assert.That(key.IPv6, Is.EqualTo(IPNetwork.Parse("2001:db8:0:22::/64")));
    }

    [Test]
    public void The_etcd_key_lives_under_the_subnets_folder_of_the_prefix()
    {
        var key = new SubnetKey(IPNetwork.Parse("198.18.34.0/24"));
        Assert.That(key.ToEtcdKey("/coreos.com/network"), Is.EqualTo("/coreos.com/network/subnets/198.18.34.0-24"));
        Assert.That(key.ToEtcdKey("/coreos.com/network/"), Is.EqualTo("/coreos.com/network/subnets/198.18.34.0-24"));
        Assert.That(SubnetKey.TryParseEtcdKey("/coreos.com/network", "/coreos.com/network/subnets/198.18.34.0-24", out SubnetKey parsed, out _), Is.True);
        Assert.That(parsed, Is.EqualTo(key));
    }

    [Test]
    public void A_key_under_another_prefix_is_not_a_lease()
    {
        Assert.That(SubnetKey.TryParseEtcdKey("/coreos.com/network", "/other/subnets/198.18.34.0-24", out _, out string reason), Is.False);
        Assert.That(reason, Does.Contain("/coreos.com/network/subnets/"));
    }

    [TestCase("", "empty")]
    [TestCase("198.18.34.0", "no '-<length>'")]
    [TestCase("198.18.34.0/24", "no '-<length>'")]
    [TestCase("198.18.34-24", "not an IPv4 address")]
    [TestCase("198.18.34.0-33", "not a prefix length")]
    [TestCase("198.18.34.0-024", "not a prefix length")]
    [TestCase("198.18.34.0-", "not a prefix length")]
    [TestCase("198.18.34.1-24", "host bits set")]
    [TestCase("2001:db8::-64", "not an IPv4 address")]
    [TestCase("198.18.34.0-24&198.18.0.0-24", "not an IPv6 address")]
    [TestCase("198.18.34.0-24&2001:DB8::-64", "compressed lower-case")]
    [TestCase("198.18.34.0-24&2001:db8:0:0:0:0:0:0-64", "compressed lower-case")]
    [TestCase("198.18.34.0-24&2001:db8::1-64", "host bits set")]
    [TestCase("198.18.34.0-24&2001:db8::-64&x", "more than one '&'")]
    public void A_malformed_key_is_rejected_with_the_reason(string text, string reason)
    {
        Assert.That(SubnetKey.TryParse(text, out _, out string why), Is.False);
        Assert.That(why, Does.Contain(reason));
    }

    [Test]
    public void Parse_throws_a_format_exception_naming_the_key()
    {
        var exception = Assert.Throws<FormatException>(() => SubnetKey.Parse("nonsense"));
        Assert.That(exception!.Message, Does.Contain("'nonsense'"));
    }
}
