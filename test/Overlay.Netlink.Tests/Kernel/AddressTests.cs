using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using NUnit.Framework;

namespace Overlay.Netlink.Tests.Kernel;

public class AddressTests : NamespaceFixture
{
    private string[] AddressesByIp(string device) =>
        Ns.IpJson("addr", "show", "dev", device)[0].GetProperty("addr_info").EnumerateArray()
            .Where(a => a.GetProperty("scope").GetString() == "global")
            .Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()}")
            .ToArray();

    [Test]
    public void Adding_ipv4_and_ipv6_addresses_is_seen_by_ip_and_by_the_listing()
    {
        LinkInfo link = CreateFlannelDevice();

        Handle.AddAddress(new AddressEntry(link.Index, IPAddress.Parse("198.18.1.0"), 32));
        Handle.AddAddress(new AddressEntry(link.Index, IPAddress.Parse("2001:db8:1::"), 64));

        Assert.That(AddressesByIp("flannel.1"), Is.EquivalentTo(new[] { "198.18.1.0/32", "2001:db8:1::/64" }));
        var listed = Handle.ListAddresses(interfaceIndex: link.Index).Where(a => a.Scope == 0).Select(a => $"{a.Address}/{a.PrefixLength}");
        Assert.That(listed, Is.EquivalentTo(new[] { "198.18.1.0/32", "2001:db8:1::/64" }));
        Assert.That(Handle.ListAddresses(AddressFamily.InterNetwork, link.Index).Select(a => a.Address),
            Is.EqualTo(new[] { IPAddress.Parse("198.18.1.0") }));
    }

    [Test]
    public void Deleting_an_address_removes_only_that_address()
    {
        LinkInfo link = CreateFlannelDevice();
        var keep = new AddressEntry(link.Index, IPAddress.Parse("198.18.1.0"), 32);
        var drop = new AddressEntry(link.Index, IPAddress.Parse("2001:db8:1::"), 64);
        Handle.AddAddress(keep);
        Handle.AddAddress(drop);

        Handle.DeleteAddress(drop);

        Assert.That(AddressesByIp("flannel.1"), Is.EqualTo(new[] { "198.18.1.0/32" }));
    }

    [Test]
    public void Adding_an_address_twice_fails_with_EEXIST()
    {
        LinkInfo link = CreateFlannelDevice();
        var address = new AddressEntry(link.Index, IPAddress.Parse("198.18.1.0"), 32);
        Handle.AddAddress(address);

        var error = Assert.Throws<NetlinkException>(() => Handle.AddAddress(address));

        Assert.That(error!.ErrorName, Is.EqualTo("EEXIST"));
        Assert.That(error.Operation, Is.EqualTo("add address 198.18.1.0/32 dev flannel.1"));
    }
}
