using Overlay.Cni.Config;
using Overlay.Cni.Protocol;

namespace Overlay.Cni.Tests.Config;

public class NetworkConfigTests
{
    [Test]
    public void A_minimal_config_gets_flannels_defaults()
    {
        NetworkConfig config = NetworkConfig.Parse("""{"cniVersion":"0.3.1","name":"podnet","type":"overlay"}""");

        Assert.That(config.CniVersion, Is.EqualTo("0.3.1"));
        Assert.That(config.Name, Is.EqualTo("podnet"));
        Assert.That(config.SubnetFile, Is.EqualTo("/run/flannel/subnet.env"));
        Assert.That(config.DataDir, Is.EqualTo("/var/lib/cni/flannel"));
        Assert.That(config.Delegate, Is.Null);
        Assert.That(config.Ipam, Is.Null);
        Assert.That(config.PrevResult, Is.Null);
    }

    [Test]
    public void The_plugin_fields_and_the_objects_for_the_delegate_are_read()
    {
        NetworkConfig config = NetworkConfig.Parse("""
            {"cniVersion":"1.0.0","name":"podnet","type":"overlay","subnetFile":"/tmp/s.env","dataDir":"/tmp/d",
             "delegate":{"bridge":"pods0"},"ipam":{"dataDir":"/tmp/ipam"},"runtimeConfig":{"portMappings":[]},
             "prevResult":{"cniVersion":"1.0.0","interfaces":[]},"somethingElse":42}
            """);

        Assert.That(config.SubnetFile, Is.EqualTo("/tmp/s.env"));
        Assert.That(config.DataDir, Is.EqualTo("/tmp/d"));
        Assert.That(config.Delegate!.Value.GetProperty("bridge").GetString(), Is.EqualTo("pods0"));
        Assert.That(config.Ipam!.Value.GetProperty("dataDir").GetString(), Is.EqualTo("/tmp/ipam"));
        Assert.That(config.RuntimeConfig!.Value.TryGetProperty("portMappings", out _), Is.True);
        Assert.That(config.PrevResult!.Value.GetProperty("cniVersion").GetString(), Is.EqualTo("1.0.0"));
    }

    [TestCase("0.2.0")]
    [TestCase("1.1.0")]
    [TestCase("")]
    public void An_unsupported_cniVersion_is_an_incompatible_version_error(string version)
    {
        var error = Assert.Throws<CniException>(() => NetworkConfig.Parse($$"""{"cniVersion":"{{version}}","name":"n"}"""));

        Assert.That(error!.Code, Is.EqualTo(CniErrorCode.IncompatibleVersion));
    }

    [Test]
    public void Text_that_is_not_JSON_is_a_decode_error()
    {
        Assert.That(Assert.Throws<CniException>(() => NetworkConfig.Parse("{\"cniVersion\":"))!.Code, Is.EqualTo(CniErrorCode.DecodeFailure));
    }

    [Test]
    public void A_config_without_a_name_is_an_invalid_network_config()
    {
        Assert.That(Assert.Throws<CniException>(() => NetworkConfig.Parse("""{"cniVersion":"1.0.0"}"""))!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
    }

    [TestCase("""{"cniVersion":"1.0.0","name":"n","delegate":"bridge"}""", "delegate")]
    [TestCase("""{"cniVersion":"1.0.0","name":"n","subnetFile":7}""", "subnetFile")]
    public void A_member_of_the_wrong_kind_is_an_invalid_network_config_naming_it(string json, string member)
    {
        var error = Assert.Throws<CniException>(() => NetworkConfig.Parse(json));

        Assert.That(error!.Code, Is.EqualTo(CniErrorCode.InvalidNetworkConfig));
        Assert.That(error.Message, Does.Contain(member));
    }
}
