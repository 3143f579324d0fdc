using System.Text.Json;
using Overlay.Cni.Config;
using Overlay.Cni.Delegation;

namespace Overlay.Cni.Tests.Delegation;

public class DelegateConfigTests
{
    private static readonly NodeSubnet Node = NodeSubnet.Parse("/run/flannel/subnet.env",
        "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");

    private static JsonElement Render(string config, NodeSubnet? node = null)
    {
        using var document = JsonDocument.Parse(DelegateConfig.Render(NetworkConfig.Parse(config), node ?? Node));
        return document.RootElement.Clone();
    }

    [Test]
    public void Without_user_members_it_is_flannels_bridge_with_host_local_IPAM()
    {
        JsonElement rendered = Render("""{"cniVersion":"1.0.0","name":"podnet","type":"overlay"}""");

        Assert.That(rendered.GetRawText(), Is.EqualTo(
            """{"cniVersion":"1.0.0","name":"podnet","type":"bridge","ipMasq":false,"mtu":1450,"isGateway":true,"hairpinMode":true"""
            + ""","ipam":{"type":"host-local","ranges":[[{"subnet":"198.18.34.0/24"}]],"routes":[{"dst":"198.18.0.0/16","gw":"198.18.34.1"}]}}"""));
    }

    [Test]
    public void The_bridge_masquerades_only_when_overlayd_does_not()
    {
        NodeSubnet noMasq = Node with { IpMasq = false };

        Assert.That(Render("""{"cniVersion":"1.0.0","name":"n"}""", noMasq).GetProperty("ipMasq").GetBoolean(), Is.True);
    }

    [Test]
    public void Members_of_the_users_delegate_win_and_extra_ones_are_kept()
    {
        JsonElement rendered = Render("""{"cniVersion":"1.0.0","name":"n","delegate":{"mtu":1400,"ipMasq":true,"bridge":"pods0","hairpinMode":true}}""");

        Assert.That(rendered.GetProperty("mtu").GetInt32(), Is.EqualTo(1400));
        Assert.That(rendered.GetProperty("ipMasq").GetBoolean(), Is.True);
        Assert.That(rendered.GetProperty("bridge").GetString(), Is.EqualTo("pods0"));
        Assert.That(rendered.GetProperty("hairpinMode").GetBoolean(), Is.True);
        Assert.That(rendered.GetProperty("isGateway").GetBoolean(), Is.True);
    }

    [Test]
    public void The_delegate_cannot_change_cniVersion_or_name_which_come_from_the_outer_config()
    {
        JsonElement rendered = Render("""{"cniVersion":"0.4.0","name":"podnet","delegate":{"cniVersion":"0.3.0","name":"other"}}""");

        Assert.That(rendered.GetProperty("cniVersion").GetString(), Is.EqualTo("0.4.0"));
        Assert.That(rendered.GetProperty("name").GetString(), Is.EqualTo("podnet"));
    }

    [Test]
    public void A_delegate_of_another_type_gets_no_isGateway()
    {
        JsonElement rendered = Render("""{"cniVersion":"1.0.0","name":"n","delegate":{"type":"ipvlan","master":"eth0"}}""");

        Assert.That(rendered.GetProperty("type").GetString(), Is.EqualTo("ipvlan"));
        Assert.That(rendered.TryGetProperty("isGateway", out _), Is.False);
        Assert.That(rendered.GetProperty("master").GetString(), Is.EqualTo("eth0"));
    }

    [Test]
    public void The_bridge_is_in_hairpin_mode_unless_the_delegate_turns_it_off()
    {
        Assert.That(Render("""{"cniVersion":"1.0.0","name":"n"}""").GetProperty("hairpinMode").GetBoolean(), Is.True);
        Assert.That(Render("""{"cniVersion":"1.0.0","name":"n","delegate":{"hairpinMode":false}}""").GetProperty("hairpinMode").GetBoolean(), Is.False);
        Assert.That(Render("""{"cniVersion":"1.0.0","name":"n","delegate":{"type":"ipvlan"}}""").TryGetProperty("hairpinMode", out _), Is.False, "not a bridge");
    }

    [Test]
    public void Members_of_the_users_ipam_win_over_the_generated_ones_and_the_rest_stays()
    {
        JsonElement ipam = Render("""{"cniVersion":"1.0.0","name":"n","ipam":{"dataDir":"/tmp/ipam","routes":[{"dst":"0.0.0.0/0"}]}}""").GetProperty("ipam");

        Assert.That(ipam.GetProperty("type").GetString(), Is.EqualTo("host-local"));
        Assert.That(ipam.GetProperty("dataDir").GetString(), Is.EqualTo("/tmp/ipam"));
        Assert.That(ipam.GetProperty("routes").GetRawText(), Is.EqualTo("""[{"dst":"0.0.0.0/0"}]"""));
        Assert.That(ipam.GetProperty("ranges").GetRawText(), Is.EqualTo("""[[{"subnet":"198.18.34.0/24"}]]"""));
    }

    [Test]
    public void An_ipam_inside_the_delegate_is_merged_member_by_member_over_the_top_level_ipam()
    {
        JsonElement ipam = Render("""{"cniVersion":"1.0.0","name":"n","ipam":{"dataDir":"/a","x":1},"delegate":{"ipam":{"dataDir":"/b"}}}""").GetProperty("ipam");

        Assert.That(ipam.GetProperty("dataDir").GetString(), Is.EqualTo("/b"));
        Assert.That(ipam.GetProperty("x").GetInt32(), Is.EqualTo(1));
        Assert.That(ipam.GetProperty("ranges").GetRawText(), Is.EqualTo("""[[{"subnet":"198.18.34.0/24"}]]"""));
    }

    [Test]
    public void With_the_users_own_ranges_the_generated_route_names_no_gateway()
    {
        JsonElement ipam = Render("""{"cniVersion":"1.0.0","name":"n","ipam":{"ranges":[[{"subnet":"198.18.34.0/25","gateway":"198.18.34.126"}]]}}""").GetProperty("ipam");

        Assert.That(ipam.GetProperty("routes").GetRawText(), Is.EqualTo("""[{"dst":"198.18.0.0/16"}]"""));
    }

    [Test]
    public void An_IPv6_node_gets_a_second_range_set_and_a_route_to_the_IPv6_network()
    {
        NodeSubnet dual = NodeSubnet.Parse("/s", "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.34.1/24\nFLANNEL_IPV6_NETWORK=2001:db8::/56\n"
            + "FLANNEL_IPV6_SUBNET=2001:db8:0:22::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");

        JsonElement ipam = Render("""{"cniVersion":"1.0.0","name":"n"}""", dual).GetProperty("ipam");

        Assert.That(ipam.GetProperty("ranges").GetRawText(), Is.EqualTo("""[[{"subnet":"198.18.34.0/24"}],[{"subnet":"2001:db8:0:22::/64"}]]"""));
        Assert.That(ipam.GetProperty("routes").GetRawText(), Is.EqualTo("""[{"dst":"198.18.0.0/16","gw":"198.18.34.1"},{"dst":"2001:db8::/56","gw":"2001:db8:0:22::1"}]"""));
    }

    [Test]
    public void The_runtimeConfig_is_handed_to_the_delegate()
    {
        JsonElement rendered = Render("""{"cniVersion":"1.0.0","name":"n","runtimeConfig":{"mac":"02:00:00:00:00:01"}}""");

        Assert.That(rendered.GetProperty("runtimeConfig").GetProperty("mac").GetString(), Is.EqualTo("02:00:00:00:00:01"));
    }

    [Test]
    public void The_prevResult_of_the_call_is_added_to_a_stored_config_replacing_an_older_one()
    {
        using var previous = JsonDocument.Parse("""{"cniVersion":"1.0.0","ips":[]}""");

        string sent = DelegateConfig.WithPrevResult("""{"type":"bridge","prevResult":{"old":true}}""", previous.RootElement);

        Assert.That(sent, Is.EqualTo("""{"prevResult":{"cniVersion":"1.0.0","ips":[]},"type":"bridge"}"""));
    }

    [Test]
    public void Without_a_prevResult_the_stored_config_is_sent_as_it_is()
    {
        Assert.That(DelegateConfig.WithPrevResult("""{"type":"bridge"}""", null), Is.EqualTo("""{"type":"bridge"}"""));
    }
}
