using System.Net;
using Overlay.Core.Leases;

namespace Overlay.Core.Tests.Leases;

/// <summary>The keys a new lease's create guard covers: every key with the same IPv4 subnet, and no other.</summary>
public class IPv4HolderKeysTests
{
    private const string Prefix = "/coreos.com/network";

    [TestCase("198.18.99.0-24")]
    [TestCase("198.18.99.0-24&2001:db8:100:4f::-64")]
    [TestCase("198.18.99.0-24&2001:db8:100:13::-64")]
    [TestCase("198.18.99.0-24&2001:db8::-64")]
    public void Every_key_with_the_same_IPv4_subnet_is_covered(string other)
    {
        IPv4HolderKeys holders = SubnetKey.Parse("198.18.99.0-24&2001:db8:100:4f::-64").IPv4Holders(Prefix);

        Assert.That(holders.Includes(SubnetKey.Parse(other).ToEtcdKey(Prefix)), Is.True);
    }

    [TestCase("198.18.99.0-24&2001:db8:100:4f::-64")]
    [TestCase("198.18.99.0-24")]
    public void An_IPv4_only_key_and_a_dual_stack_key_guard_the_same_keys(string ours)
    {
        IPv4HolderKeys holders = SubnetKey.Parse(ours).IPv4Holders(Prefix);

        Assert.That(holders, Is.EqualTo(new IPv4HolderKeys(
            "/coreos.com/network/subnets/198.18.99.0-24",
            "/coreos.com/network/subnets/198.18.99.0-24&",
            "/coreos.com/network/subnets/198.18.99.0-24'")));
    }

    [TestCase("198.18.9.0-24", "198.18.9.0-240")]           // a longer length that starts with the same digits (not a valid key, but a range must not reach it)
    [TestCase("198.18.9.0-24", "198.18.9.0-25")]
    [TestCase("198.18.9.0-24", "198.18.9.0-25&2001:db8::-64")]
    [TestCase("198.18.9.0-24", "198.18.99.0-24")]
    [TestCase("198.18.9.0-24", "198.18.99.0-24&2001:db8::-64")]
    [TestCase("198.18.9.0-24", "198.18.9.128-25")]
    [TestCase("198.18.0.0-15", "198.18.0.0-16&2001:db8::-64")]
    [TestCase("198.18.0.0-15", "198.18.0.0-150")]
    public void Keys_of_another_IPv4_subnet_are_not_covered(string ours, string other)
    {
        IPv4HolderKeys holders = new SubnetKey(IPNetwork.Parse(ours.Replace('-', '/'))).IPv4Holders(Prefix);

        Assert.That(holders.Includes($"{Prefix}/subnets/{other}"), Is.False);
    }

    [Test]
    public void Keys_of_another_prefix_are_not_covered()
    {
        IPv4HolderKeys holders = SubnetKey.Parse("198.18.9.0-24").IPv4Holders(Prefix);

        Assert.That(holders.Includes("/coreos.com/network2/subnets/198.18.9.0-24"), Is.False);
        Assert.That(holders.Includes("/other/subnets/198.18.9.0-24&2001:db8::-64"), Is.False);
    }
}
