using System.Net;
using System.Text.Json;
using NUnit.Framework;

namespace Overlay.Netlink.Tests.Kernel;

public class LinkTests : NamespaceFixture
{
    [Test]
    public void Creating_a_vxlan_link_sets_every_requested_attribute()
    {
        var mac = MacAddress.Parse("0e:4a:11:22:33:44");
        Handle.CreateVxlan(new VxlanLinkSpec("flannel.7", new VxlanInfo(7, UnderlayAddress, UnderlayIndex, 8472, Learning: false, Gbp: true))
        {
            Mtu = 1400,
            Mac = mac,
        });

        JsonElement link = Ns.IpJson("-d", "link", "show", "dev", "flannel.7")[0];
        JsonElement data = link.GetProperty("linkinfo").GetProperty("info_data");
        Assert.Multiple(() =>
        {
            Assert.That(link.GetProperty("linkinfo").GetProperty("info_kind").GetString(), Is.EqualTo("vxlan"));
            Assert.That(data.GetProperty("id").GetInt32(), Is.EqualTo(7));
            Assert.That(data.GetProperty("local").GetString(), Is.EqualTo("192.0.2.1"));
            Assert.That(data.GetProperty("link").GetString(), Is.EqualTo("under0"));
            Assert.That(data.GetProperty("port").GetInt32(), Is.EqualTo(8472));
            Assert.That(data.GetProperty("learning").GetBoolean(), Is.False);
            Assert.That(data.TryGetProperty("gbp", out JsonElement gbp) && gbp.GetBoolean(), Is.True);
            Assert.That(link.GetProperty("mtu").GetInt32(), Is.EqualTo(1400));
            Assert.That(link.GetProperty("address").GetString(), Is.EqualTo("0e:4a:11:22:33:44"));
        });
    }

    [Test]
    public void Reading_a_vxlan_link_decodes_its_vxlan_attributes()
    {
        Ns.ExecChecked("ip", "link", "add", "vx9", "type", "vxlan", "id", "9", "local", "192.0.2.1", "dev", "under0", "dstport", "4789", "learning");

        LinkInfo? link = Handle.GetLink("vx9");

        Assert.That(link, Is.Not.Null);
        Assert.That(link!.Kind, Is.EqualTo("vxlan"));
        Assert.That(link.Vxlan, Is.EqualTo(new VxlanInfo(9, UnderlayAddress, UnderlayIndex, 4789, Learning: true, Gbp: false)));
        Assert.That(link.Index, Is.EqualTo(IndexOf("vx9")));
    }

    [Test]
    public void An_ipv6_vxlan_link_is_created_with_an_ipv6_local_address()
    {
        Ns.AddAddress("under0", "2001:db8::1/64");
        LinkInfo link = Handle.CreateVxlan(new VxlanLinkSpec("flannel-v6.1", new VxlanInfo(1, IPAddress.Parse("2001:db8::1"), UnderlayIndex)));

        JsonElement data = Ns.IpJson("-d", "link", "show", "dev", "flannel-v6.1")[0].GetProperty("linkinfo").GetProperty("info_data");
        Assert.That(data.GetProperty("local6").GetString(), Is.EqualTo("2001:db8::1"));
        Assert.That(link.Vxlan!.Local, Is.EqualTo(IPAddress.Parse("2001:db8::1")));
    }

    [Test]
    public void Setting_up_mtu_mac_and_down_is_seen_by_ip()
    {
        LinkInfo link = CreateFlannelDevice();
        var mac = MacAddress.Parse("02:00:00:00:00:01");

        Handle.SetLinkMtu(link.Index, 1300);
        Handle.SetLinkMac(link.Index, mac);
        JsonElement up = Ns.IpJson("link", "show", "dev", "flannel.1")[0];
        Handle.SetLinkDown(link.Index);
        JsonElement down = Ns.IpJson("link", "show", "dev", "flannel.1")[0];

        Assert.Multiple(() =>
        {
            Assert.That(up.GetProperty("flags").EnumerateArray().Select(f => f.GetString()), Does.Contain("UP"));
            Assert.That(down.GetProperty("flags").EnumerateArray().Select(f => f.GetString()), Does.Not.Contain("UP"));
            Assert.That(up.GetProperty("mtu").GetInt32(), Is.EqualTo(1300));
            Assert.That(up.GetProperty("address").GetString(), Is.EqualTo("02:00:00:00:00:01"));
            Assert.That(Handle.GetLink(link.Index)!.IsUp, Is.False);
            Assert.That(Handle.GetLink(link.Index)!.Mac, Is.EqualTo(mac));
        });
    }

    [Test]
    public void Deleting_a_link_removes_it_and_getting_it_then_gives_null()
    {
        LinkInfo link = CreateFlannelDevice();

        Handle.DeleteLink(link.Index);

        Assert.That(Ns.Exec("ip", "link", "show", "dev", "flannel.1").ExitCode, Is.Not.EqualTo(0));
        Assert.That(Handle.GetLink("flannel.1"), Is.Null);
        Assert.That(Handle.GetLink(link.Index), Is.Null);
    }

    [Test]
    public void Listing_links_gives_the_same_names_and_indexes_as_ip()
    {
        CreateFlannelDevice();

        var expected = Ns.IpJson("link", "show").EnumerateArray()
            .Select(l => (l.GetProperty("ifindex").GetInt32(), l.GetProperty("ifname").GetString()!)).ToArray();
        var actual = Handle.ListLinks().Select(l => (l.Index, l.Name)).ToArray();

        Assert.That(actual, Is.EquivalentTo(expected));
        Assert.That(actual.Select(a => a.Name), Is.SupersetOf(new[] { "lo", "under0", "flannel.1" }));
    }

    [Test]
    public void Creating_an_existing_link_fails_with_EEXIST_naming_the_operation()
    {
        CreateFlannelDevice();

        var error = Assert.Throws<NetlinkException>(() => CreateFlannelDevice());

        Assert.That(error!.ErrorName, Is.EqualTo("EEXIST"));
        Assert.That(error.Errno, Is.EqualTo(17));
        Assert.That(error.Operation, Does.StartWith("add link flannel.1 type vxlan id 1"));
        Assert.That(error.Message, Does.Contain("EEXIST (File exists"));
    }
}
