using System.Net;
using NUnit.Framework;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink.Tests.Wire;

public class EncoderGoldenTests
{
    private static readonly MacAddress Vtep = MacAddress.Parse("0e:4a:00:00:00:02");

    private static byte[] Encode(KernelEntry entry, ChangeOperation operation, uint sequence)
    {
        var buffer = new byte[1024];
        var writer = new NetlinkWriter(buffer);
        entry.Encode(ref writer, operation, sequence);
        return writer.Written.ToArray();
    }

    [Test]
    public void A_route_replace_with_onlink_is_encoded_byte_for_byte()
    {
        var route = RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.0"), 5, onLink: true);

        Assert.That(Convert.ToHexString(Encode(route, ChangeOperation.Replace, 1)), Is.EqualTo(Convert.ToHexString(Golden.RouteReplaceOnLink)));
    }

    [Test]
    public void An_fdb_replace_is_encoded_byte_for_byte()
    {
        var entry = new FdbEntry(5, Vtep, IPAddress.Parse("203.0.113.2"));

        Assert.That(Convert.ToHexString(Encode(entry, ChangeOperation.Replace, 2)), Is.EqualTo(Convert.ToHexString(Golden.FdbReplace)));
    }

    [Test]
    public void A_permanent_neighbour_replace_is_encoded_byte_for_byte()
    {
        var entry = new NeighbourEntry(5, IPAddress.Parse("198.18.2.0"), Vtep);

        Assert.That(Convert.ToHexString(Encode(entry, ChangeOperation.Replace, 3)), Is.EqualTo(Convert.ToHexString(Golden.NeighbourReplace)));
    }

    [Test]
    public void A_vxlan_create_with_nested_attributes_is_encoded_byte_for_byte()
    {
        var spec = new VxlanLinkSpec("flannel.1", new VxlanInfo(1, IPAddress.Parse("192.0.2.1"), 2, 8472, Learning: false, Gbp: true))
        {
            Mtu = 1450,
            Mac = MacAddress.Parse("0e:4a:00:00:00:01"),
        };
        var buffer = new byte[1024];
        var writer = new NetlinkWriter(buffer);

        LinkMessages.WriteVxlanCreate(ref writer, spec, 4);

        Assert.That(Convert.ToHexString(writer.Written), Is.EqualTo(Convert.ToHexString(Golden.VxlanCreate)));
    }

    [Test]
    public void An_ipv6_address_add_is_encoded_byte_for_byte()
    {
        var entry = new AddressEntry(3, IPAddress.Parse("2001:db8::1"), 64);

        Assert.That(Convert.ToHexString(Encode(entry, ChangeOperation.Add, 5)), Is.EqualTo(Convert.ToHexString(Golden.AddressAddIPv6)));
    }

    [Test]
    public void Messages_of_a_batch_follow_each_other_in_one_buffer()
    {
        var buffer = new byte[1024];
        var writer = new NetlinkWriter(buffer);
        RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.0"), 5, onLink: true).Encode(ref writer, ChangeOperation.Replace, 1);
        new FdbEntry(5, Vtep, IPAddress.Parse("203.0.113.2")).Encode(ref writer, ChangeOperation.Replace, 2);

        Assert.That(writer.Written.ToArray(), Is.EqualTo(Golden.RouteReplaceOnLink.Concat(Golden.FdbReplace).ToArray()));
    }

    [Test]
    public void A_writer_refuses_to_write_past_its_buffer()
    {
        Assert.Throws<InvalidOperationException>(() =>
        {
            var writer = new NetlinkWriter(new byte[40]);
            new FdbEntry(5, Vtep, IPAddress.Parse("203.0.113.2")).Encode(ref writer, ChangeOperation.Replace, 2);
        });
    }

    [Test]
    public void Delete_requests_ask_for_an_ack_without_create_flags()
    {
        byte[] bytes = Encode(new NeighbourEntry(5, IPAddress.Parse("198.18.2.0"), Vtep), ChangeOperation.Delete, 3);

        Assert.That(Convert.ToHexString(bytes.AsSpan(4, 4)), Is.EqualTo("1D000500"));
    }
}
