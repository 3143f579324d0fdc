using System.Net;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Core.SubnetFile;

namespace Overlay.Core.Tests.Fuzzing;

/// <summary>Inputs the fuzz targets found, written out literally, with what the parser must do with them now.</summary>
public class FoundByFuzzingTests
{
    // int.TryParse with NumberStyles.None takes trailing NULs: the key was read as 198.18.0.0-24, so a second etcd
    // key could claim the same subnet as another node's lease.
    [TestCase("198.18.0.0-24\0")]
    [TestCase("0.0.0.0-2\0")]
    [TestCase("198.18.34.0-24&2001:db8:0:22::-64\0")]
    [TestCase("198.18.34.0-24\0\0&2001:db8:0:22::-64")]
    public void A_lease_key_with_a_NUL_after_the_length_is_not_a_lease_key(string text)
    {
        Assert.That(SubnetKey.TryParse(text, out _, out string reason), Is.False);
        Assert.That(reason, Does.Contain("is not a prefix length"));
    }

    [TestCase("198.18.0.0/16\0")]
    [TestCase("2001:db8::/32\0")]
    public void A_network_with_a_NUL_after_the_length_is_not_a_network(string text)
    {
        Assert.That(IPAddressMath.TryParseNetwork(text, out _, out string error), Is.False);
        Assert.That(error, Does.Contain("is not a prefix length"));
    }

    [Test]
    public void A_subnet_env_whose_subnet_ends_in_a_NUL_gives_no_previous_subnet()
    {
        var values = SubnetEnvReader.Parse("FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\0\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");

        Assert.That(SubnetEnvReader.PreviousSubnet(values), Is.Null);
    }

    // JsonDocument parses a lone surrogate escape, but JsonElement.GetString and JsonProperty.Name throw
    // InvalidOperationException for it: the parser threw instead of reporting the config as invalid.
    [TestCase("""{"Network":"100.64.0.0/10","ServiceNetwork":"198.1/16","ClusterDomain":"cluster.loca \ud800","ClusterDNS":"198.19.0.10","Backend":{"type":"VXLAN"}}""")]
    [TestCase("""{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan"},"\udc00":1}""")]
    [TestCase("""{"Network":"198.18.0.0/16","Backend":{"Type":"vx\ud800lan"}}""")]
    [TestCase(""""\ud800"""")]
    public void A_network_config_with_a_lone_surrogate_escape_is_invalid_not_an_exception(string json)
    {
        Assert.That(NetworkConfigParser.TryParse(json, out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors), Is.False);
        Assert.That(config, Is.Null);
        Assert.That(errors, Is.Not.Empty);
        Assert.That(() => NetworkConfigParser.Parse(json), Throws.TypeOf<InvalidNetworkConfigException>());
    }

    [Test]
    public void A_lone_surrogate_escape_is_reported_as_not_valid_Unicode()
    {
        bool valid = NetworkConfigParser.TryParse("""{"Network":"198.18.0.0/16","Backend":{"Type":"vxlan"},"ClusterDomain":"\ud800"}""", out _, out IReadOnlyList<NetworkConfigError> errors);

        Assert.That(valid, Is.False);
        Assert.That(errors.Select(e => e.ToString()), Has.Some.Contains("not valid Unicode"));
    }

    [Test]
    public void A_lease_value_with_a_lone_surrogate_escape_is_refused_with_a_reason()
    {
        Assert.That(LeaseAttributes.TryParse("""{"PublicIP":"192.0.2.11","OverlayOwner":"\ud800"}""", out _, out string reason), Is.False);
        Assert.That(reason, Does.StartWith("not a lease value"));
    }

    [Test]
    public void The_key_grammar_still_takes_every_canonical_key()
    {
        Assert.That(SubnetKey.Parse("198.18.34.0-24&2001:db8:0:22::-64"),
            Is.EqualTo(new SubnetKey(IPNetwork.Parse("198.18.34.0/24"), IPNetwork.Parse("2001:db8:0:22::/64"))));
        Assert.That(SubnetKey.Parse("0.0.0.0-0").IPv4.PrefixLength, Is.Zero);
    }
}
