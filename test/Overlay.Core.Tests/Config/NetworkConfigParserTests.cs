using System.Net;
using Overlay.Core.Config;

namespace Overlay.Core.Tests.Config;

public class NetworkConfigParserTests
{
    private const string Vxlan = "\"Backend\":{\"Type\":\"vxlan\"}";

    private static NetworkConfig Parse(string members) => NetworkConfigParser.Parse("{" + members + "}");

    private static IReadOnlyList<NetworkConfigError> Errors(string json)
    {
        bool ok = NetworkConfigParser.TryParse(json, out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors);
        Assert.That(ok, Is.False, "the config should have been rejected");
        Assert.That(config, Is.Null);
        return errors;
    }

    private static NetworkConfigError SingleError(string json)
    {
        IReadOnlyList<NetworkConfigError> errors = Errors(json);
        Assert.That(errors, Has.Count.EqualTo(1), string.Join(" | ", errors));
        return errors[0];
    }

    [Test]
    public void Flannels_worked_example_gets_slash_24_subnets_from_the_second_to_the_last()
    {
        NetworkConfig config = Parse($"\"Network\":\"10.3.0.0/16\",{Vxlan}");

        Assert.That(config.Network, Is.EqualTo(IPNetwork.Parse("10.3.0.0/16")));
        Assert.That(config.SubnetLen, Is.EqualTo(24));
        Assert.That(config.SubnetMin, Is.EqualTo(IPAddress.Parse("10.3.1.0")));
        Assert.That(config.SubnetMax, Is.EqualTo(IPAddress.Parse("10.3.255.0")));
        Assert.That(config.EnableIPv6, Is.False);
    }

    [Test]
    public void Flannels_IPv6_example_gets_slash_64_subnets()
    {
        NetworkConfig config = Parse($"\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"fc00::/48\",{Vxlan}");

        Assert.That(config.IPv6, Is.Not.Null);
        Assert.That(config.IPv6!.SubnetLen, Is.EqualTo(64));
        Assert.That(config.IPv6.SubnetMin, Is.EqualTo(IPAddress.Parse("fc00:0:0:1::")));
        Assert.That(config.IPv6.SubnetMax, Is.EqualTo(IPAddress.Parse("fc00:0:0:ffff::")));
    }

    [TestCase("198.18.0.0/22", 24)]
    [TestCase("198.18.0.0/23", 25)]
    [TestCase("198.18.0.0/28", 30)]
    [TestCase("100.64.0.0/10", 24)]
    public void The_default_subnet_length_follows_flannels_rule(string network, int expected)
    {
        Assert.That(Parse($"\"Network\":\"{network}\",{Vxlan}").SubnetLen, Is.EqualTo(expected));
    }

    [TestCase("2001:db8::/62", 64)]
    [TestCase("2001:db8::/63", 65)]
    [TestCase("2001:db8::/124", 126)]
    public void The_default_IPv6_subnet_length_follows_flannels_rule(string network, int expected)
    {
        NetworkConfig config = Parse($"\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"{network}\",{Vxlan}");
        Assert.That(config.IPv6!.SubnetLen, Is.EqualTo(expected));
    }

    [Test]
    public void Property_names_are_matched_case_insensitively_and_unknown_ones_are_ignored()
    {
        NetworkConfig config = NetworkConfigParser.Parse(
            "{\"network\":\"198.18.0.0/16\",\"SUBNETLEN\":26,\"whatever\":[1,2],\"backend\":{\"type\":\"VXLAN\",\"vni\":42,\"port\":4789,\"directrouting\":true,\"gbp\":true,\"learning\":true,\"mtu\":9000}}");

        Assert.That(config.SubnetLen, Is.EqualTo(26));
        Assert.That(config.Backend, Is.EqualTo(new BackendConfig { Vni = 42, Port = 4789, DirectRouting = true, Gbp = true, Learning = true, Mtu = 9000 }));
    }

    [Test]
    public void The_backend_defaults_are_VNI_1_and_the_kernels_port()
    {
        BackendConfig backend = Parse($"\"Network\":\"198.18.0.0/16\",{Vxlan}").Backend;

        Assert.That(backend.Vni, Is.EqualTo(1));
        Assert.That(backend.Port, Is.Zero);
        Assert.That(backend.EffectivePort, Is.EqualTo(8472));
        Assert.That(backend.Mtu, Is.Zero);
        Assert.That(backend.DirectRouting, Is.False);
    }

    [Test]
    public void Given_SubnetMin_and_SubnetMax_are_kept()
    {
        NetworkConfig config = Parse($"\"Network\":\"198.18.0.0/16\",\"SubnetMin\":\"198.18.10.0\",\"SubnetMax\":\"198.18.20.0\",{Vxlan}");

        Assert.That(config.SubnetMin, Is.EqualTo(IPAddress.Parse("198.18.10.0")));
        Assert.That(config.SubnetMax, Is.EqualTo(IPAddress.Parse("198.18.20.0")));
    }

    [Test]
    public void A_missing_Network_is_reported_with_an_example()
    {
        NetworkConfigError error = SingleError($"{{{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("Network"));
        Assert.That(error.Message, Does.Contain("please define a correct Network parameter").And.Contain("10.244.0.0/16"));
    }

    [Test]
    public void A_Network_with_host_bits_set_names_the_network_address()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.1.5/16\",{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("Network"));
        Assert.That(error.Message, Does.Contain("198.18.1.5/16").And.Contain("198.18.0.0/16"));
    }

    [Test]
    public void A_Network_that_is_not_a_CIDR_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"banana\",{Vxlan}}}");
        Assert.That(error.Message, Does.Contain("'banana'").And.Contain("no prefix length"));
    }

    [Test]
    public void An_IPv6_Network_in_the_IPv4_field_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"2001:db8::/48\",{Vxlan}}}");
        Assert.That(error.Message, Does.Contain("is not an IPv4 network"));
    }

    [Test]
    public void A_network_longer_than_slash_28_is_too_small()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/29\",{Vxlan}}}");
        Assert.That(error.Message, Does.Contain("too small").And.Contain("/28"));
    }

    [Test]
    public void A_SubnetLen_of_31_or_more_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"SubnetLen\":31,{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("SubnetLen"));
        Assert.That(error.Message, Does.Contain("31").And.Contain("less than /31"));
    }

    [Test]
    public void A_SubnetLen_that_leaves_fewer_than_four_subnets_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"SubnetLen\":17,{Vxlan}}}");
        Assert.That(error.Message, Does.Contain("at least four subnets").And.Contain("at least 18"));
    }

    [Test]
    public void A_SubnetMin_outside_the_Network_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"SubnetMin\":\"198.19.0.0\",{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("SubnetMin"));
        Assert.That(error.Message, Does.Contain("198.19.0.0 is not in the range of the Network"));
    }

    [Test]
    public void A_SubnetMax_outside_the_Network_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"SubnetMax\":\"198.19.0.0\",{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("SubnetMax"));
        Assert.That(error.Message, Does.Contain("not in the range of the Network"));
    }

    [Test]
    public void A_SubnetMin_off_the_subnet_boundary_names_the_boundary()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"SubnetMin\":\"198.18.1.7\",{Vxlan}}}");
        Assert.That(error.Message, Does.Contain("not on a /24 (SubnetLen) boundary: 198.18.1.7").And.Contain("198.18.1.0"));
    }

    [Test]
    public void A_SubnetMax_off_the_subnet_boundary_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"SubnetMax\":\"198.18.9.1\",{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("SubnetMax"));
        Assert.That(error.Message, Does.Contain("boundary"));
    }

    [Test]
    public void SubnetMin_above_SubnetMax_is_rejected_which_flannel_does_not_check()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"SubnetMin\":\"198.18.20.0\",\"SubnetMax\":\"198.18.10.0\",{Vxlan}}}");
        Assert.That(error.Message, Does.Contain("must not be greater than SubnetMax"));
    }

    [TestCase(0)]
    [TestCase(16777216)]
    [TestCase(-1)]
    public void A_VNI_outside_1_to_16777215_is_rejected(int vni)
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"Backend\":{{\"Type\":\"vxlan\",\"VNI\":{vni}}}}}");
        Assert.That(error.Field, Is.EqualTo("Backend.VNI"));
        Assert.That(error.Message, Does.Contain($"{vni}").And.Contain("1..16777215"));
    }

    [TestCase(65536)]
    [TestCase(-5)]
    public void A_port_outside_0_to_65535_is_rejected(int port)
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"Backend\":{{\"Type\":\"vxlan\",\"Port\":{port}}}}}");
        Assert.That(error.Field, Is.EqualTo("Backend.Port"));
        Assert.That(error.Message, Does.Contain("1..65535"));
    }

    [TestCase(100)]
    [TestCase(70000)]
    public void An_insane_MTU_is_rejected(int mtu)
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"Backend\":{{\"Type\":\"vxlan\",\"MTU\":{mtu}}}}}");
        Assert.That(error.Field, Is.EqualTo("Backend.MTU"));
        Assert.That(error.Message, Does.Contain("576..65535"));
    }

    [Test]
    public void A_backend_other_than_vxlan_is_rejected()
    {
        NetworkConfigError error = SingleError("{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}");
        Assert.That(error.Field, Is.EqualTo("Backend.Type"));
        Assert.That(error.Message, Does.Contain("'host-gw'").And.Contain("vxlan"));
    }

    [Test]
    public void A_missing_backend_is_rejected_because_flannel_would_use_udp()
    {
        NetworkConfigError error = SingleError("{\"Network\":\"198.18.0.0/16\"}");
        Assert.That(error.Field, Is.EqualTo("Backend"));
        Assert.That(error.Message, Does.Contain("udp"));
    }

    [Test]
    public void A_backend_that_is_not_an_object_is_reported_once()
    {
        NetworkConfigError error = SingleError("{\"Network\":\"198.18.0.0/16\",\"Backend\":\"vxlan\"}");
        Assert.That(error.Message, Does.Contain("expected an object"));
    }

    [Test]
    public void A_value_of_the_wrong_JSON_type_names_the_field_and_the_value()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"SubnetLen\":\"24\",{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("SubnetLen"));
        Assert.That(error.Message, Does.Contain("whole number").And.Contain("\"24\""));
    }

    [Test]
    public void Several_problems_are_reported_together()
    {
        IReadOnlyList<NetworkConfigError> errors = Errors("{\"Network\":\"198.18.0.0/16\",\"SubnetMin\":\"198.19.0.0\",\"Backend\":{\"Type\":\"udp\",\"VNI\":0}}");
        Assert.That(errors.Select(e => e.Field), Is.EquivalentTo(new[] { "SubnetMin", "Backend.Type", "Backend.VNI" }));
    }

    [Test]
    public void Text_that_is_not_JSON_is_rejected_with_an_example()
    {
        NetworkConfigError error = SingleError("Network=198.18.0.0/16");
        Assert.That(error.Message, Does.Contain("not valid JSON").And.Contain("\"Backend\""));
    }

    [Test]
    public void IPv6_enabled_without_an_IPv6_network_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("IPv6Network"));
    }

    [Test]
    public void An_IPv6_SubnetLen_of_127_is_rejected()
    {
        NetworkConfigError error = SingleError($"{{\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8::/48\",\"IPv6SubnetLen\":127,{Vxlan}}}");
        Assert.That(error.Field, Is.EqualTo("IPv6SubnetLen"));
        Assert.That(error.Message, Does.Contain("less than /127"));
    }

    [Test]
    public void An_IPv6_only_network_is_refused_with_the_reason()
    {
        IReadOnlyList<NetworkConfigError> errors = Errors($"{{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8::/48\",{Vxlan}}}");
        Assert.That(errors.Select(e => e.Field), Does.Contain("EnableIPv4"));
    }

    [Test]
    public void The_exception_message_lists_every_error()
    {
        var exception = Assert.Throws<InvalidNetworkConfigException>(() => NetworkConfigParser.Parse("{\"Backend\":{\"Type\":\"udp\"}}"));
        Assert.That(exception!.Message, Does.Contain("Network:").And.Contain("Backend.Type:"));
        Assert.That(exception.Errors, Has.Count.EqualTo(2));
    }
}
