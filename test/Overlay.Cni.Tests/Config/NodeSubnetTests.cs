using System.Net;
using Overlay.Cni.Config;
using Overlay.Cni.Protocol;

namespace Overlay.Cni.Tests.Config;

public class NodeSubnetTests
{
    private const string Path = "/run/flannel/subnet.env";

    private const string Complete = "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n";

    [Test]
    public void The_node_subnet_is_FLANNEL_SUBNET_with_the_gateways_host_part_masked_off()
    {
        NodeSubnet subnet = NodeSubnet.Parse(Path, Complete);

        Assert.That(subnet.Network, Is.EqualTo(IPNetwork.Parse("198.18.0.0/16")));
        Assert.That(subnet.Subnet, Is.EqualTo(IPNetwork.Parse("198.18.34.0/24")));
        Assert.That(subnet.Mtu, Is.EqualTo(1450));
        Assert.That(subnet.IpMasq, Is.True);
        Assert.That(subnet.IPv6Subnet, Is.Null);
    }

    [Test]
    public void A_file_an_admin_edited_with_quotes_and_comments_still_reads()
    {
        NodeSubnet subnet = NodeSubnet.Parse(Path, "# by hand\nexport FLANNEL_NETWORK=\"198.18.0.0/16\"\nFLANNEL_SUBNET=198.18.34.1/24\n\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ='false'\n");

        Assert.That(subnet.Mtu, Is.EqualTo(1400));
        Assert.That(subnet.IpMasq, Is.False);
    }

    [Test]
    public void An_IPv6_pair_gives_the_IPv6_subnet_and_network()
    {
        NodeSubnet subnet = NodeSubnet.Parse(Path, Complete + "FLANNEL_IPV6_NETWORK=2001:db8::/56\nFLANNEL_IPV6_SUBNET=2001:db8:0:22::1/64\n");

        Assert.That(subnet.IPv6Network, Is.EqualTo(IPNetwork.Parse("2001:db8::/56")));
        Assert.That(subnet.IPv6Subnet, Is.EqualTo(IPNetwork.Parse("2001:db8:0:22::/64")));
    }

    [TestCase("FLANNEL_NETWORK")]
    [TestCase("FLANNEL_SUBNET")]
    [TestCase("FLANNEL_MTU")]
    [TestCase("FLANNEL_IPMASQ")]
    public void A_missing_key_is_an_error_naming_the_file_and_the_key(string key)
    {
        string text = string.Join('\n', Complete.Split('\n').Where(l => !l.StartsWith(key + "=", StringComparison.Ordinal)));

        var error = Assert.Throws<CniException>(() => NodeSubnet.Parse(Path, text));

        Assert.That(error!.Code, Is.EqualTo(CniErrorCode.InvalidSubnetFile));
        Assert.That(error.Message, Is.EqualTo($"subnet file {Path} has no {key}"));
    }

    [Test]
    public void Half_an_IPv6_pair_is_an_error_naming_the_missing_half()
    {
        var error = Assert.Throws<CniException>(() => NodeSubnet.Parse(Path, Complete + "FLANNEL_IPV6_NETWORK=2001:db8::/56\n"));

        Assert.That(error!.Message, Does.Contain("FLANNEL_IPV6_SUBNET"));
    }

    [TestCase("FLANNEL_MTU=big", "FLANNEL_MTU")]
    [TestCase("FLANNEL_IPMASQ=maybe", "FLANNEL_IPMASQ")]
    [TestCase("FLANNEL_SUBNET=2001:db8::1/64", "FLANNEL_SUBNET")]
    [TestCase("FLANNEL_NETWORK=198.18.0.0", "FLANNEL_NETWORK")]
    public void A_value_that_does_not_parse_is_an_error_naming_the_key_and_the_value(string line, string key)
    {
        string text = Complete.Replace(Complete.Split('\n').Single(l => l.StartsWith(key + "=", StringComparison.Ordinal)), line, StringComparison.Ordinal);

        var error = Assert.Throws<CniException>(() => NodeSubnet.Parse(Path, text));

        Assert.That(error!.Code, Is.EqualTo(CniErrorCode.InvalidSubnetFile));
        Assert.That(error.Message, Does.Contain(key).And.Contain(line.Split('=')[1]).And.Contain(Path));
    }

    [Test]
    public void A_missing_file_is_try_again_later_naming_the_file()
    {
        string missing = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ovt-no-such-{Guid.NewGuid():N}", "subnet.env");

        var error = Assert.Throws<CniException>(() => NodeSubnet.Read(missing));

        Assert.That(error!.Code, Is.EqualTo(CniErrorCode.TryAgainLater));
        Assert.That(error.Message, Does.Contain(missing));
    }
}
