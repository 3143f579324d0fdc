using System.Net;
using NUnit.Framework;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink.Tests.Wire;

public class DecoderGoldenTests
{
    private delegate T Decoder<T>(in NetlinkMessage message);

    private static T DecodeSingle<T>(byte[] bytes, Decoder<T> decode)
    {
        var reader = new MessageReader(bytes);
        Assert.That(reader.TryRead(out NetlinkMessage message), Is.True);
        T result = decode(message);
        Assert.That(reader.TryRead(out _), Is.False);
        return result;
    }

    [Test]
    public void A_dumped_route_decodes_to_the_entry_that_would_program_it()
    {
        RouteEntry? route = DecodeSingle(Golden.RouteFromKernel, RouteEntry.Decode);

        Assert.That(route, Is.EqualTo(RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.0"), 5, onLink: true)));
    }

    [Test]
    public void An_error_with_ext_ack_yields_errno_and_the_kernels_text()
    {
        (int errno, string? text, uint sequence) = DecodeSingle(Golden.ErrorWithExtAck, (in NetlinkMessage m) =>
        {
            int e = NetlinkHandle.ParseErrorMessage(m, out string? t);
            return (e, t, m.Sequence);
        });

        Assert.That(errno, Is.EqualTo(101));
        Assert.That(text, Is.EqualTo("Nexthop has invalid gateway"));
        Assert.That(sequence, Is.EqualTo(9u));
        Assert.That(new NetlinkException("replace route 198.18.2.0/24 via 198.18.2.0 dev flannel.1", errno, text).Message,
            Is.EqualTo("replace route 198.18.2.0/24 via 198.18.2.0 dev flannel.1: ENETUNREACH (Network is unreachable; kernel: Nexthop has invalid gateway)"));
    }

    [Test]
    public void An_ack_is_an_error_message_with_errno_zero_and_no_text()
    {
        (int errno, string? text) = DecodeSingle(Golden.Ack, (in NetlinkMessage m) => (NetlinkHandle.ParseErrorMessage(m, out string? t), t));

        Assert.That(errno, Is.Zero);
        Assert.That(text, Is.Null);
    }

    [Test]
    public void A_vxlan_link_message_decodes_its_link_and_vxlan_attributes()
    {
        byte[] bytes = (byte[])Golden.VxlanCreate.Clone();
        bytes[4] = (byte)Rtm.NewLink;
        bytes[20] = 7; // ifi_index
        bytes[24] = 0x01; // IFF_UP

        LinkInfo? link = DecodeSingle(bytes, LinkMessages.Decode);

        Assert.That(link, Is.Not.Null);
        Assert.That(link!.Index, Is.EqualTo(7));
        Assert.That(link.Name, Is.EqualTo("flannel.1"));
        Assert.That(link.IsUp, Is.True);
        Assert.That(link.Mtu, Is.EqualTo(1450));
        Assert.That(link.Mac, Is.EqualTo(MacAddress.Parse("0e:4a:00:00:00:01")));
        Assert.That(link.Kind, Is.EqualTo("vxlan"));
        Assert.That(link.Vxlan, Is.EqualTo(new VxlanInfo(1, IPAddress.Parse("192.0.2.1"), 2, 8472, Learning: false, Gbp: true)));
    }

    [Test]
    public void Fdb_and_neighbour_messages_decode_to_their_entries_and_not_to_each_other()
    {
        FdbEntry? fdb = DecodeSingle(Golden.FdbReplace, FdbEntry.Decode);
        NeighbourEntry? notNeighbour = DecodeSingle(Golden.FdbReplace, NeighbourEntry.Decode);
        NeighbourEntry? neighbour = DecodeSingle(Golden.NeighbourReplace, NeighbourEntry.Decode);

        Assert.That(fdb, Is.EqualTo(new FdbEntry(5, MacAddress.Parse("0e:4a:00:00:00:02"), IPAddress.Parse("203.0.113.2"))));
        Assert.That(notNeighbour, Is.Null);
        Assert.That(neighbour, Is.EqualTo(new NeighbourEntry(5, IPAddress.Parse("198.18.2.0"), MacAddress.Parse("0e:4a:00:00:00:02"))));
    }

    [Test]
    public void An_address_message_decodes_address_prefix_and_device()
    {
        AddressEntry? address = DecodeSingle(Golden.AddressAddIPv6, AddressEntry.Decode);

        Assert.That(address, Is.EqualTo(new AddressEntry(3, IPAddress.Parse("2001:db8::1"), 64)));
    }

    [Test]
    public void Several_messages_in_one_datagram_are_read_in_order()
    {
        byte[] datagram = [.. Golden.RouteFromKernel, .. Golden.Ack, .. Golden.ErrorWithExtAck];
        var types = new List<ushort>();
        var reader = new MessageReader(datagram);

        while (reader.TryRead(out NetlinkMessage message)) types.Add(message.Type);

        Assert.That(types, Is.EqualTo(new ushort[] { Rtm.NewRoute, Nl.Error, Nl.Error }));
    }

    [Test]
    public void The_end_of_a_failed_dump_yields_errno_and_the_kernels_text()
    {
        (int errno, string? text) = DecodeSingle(Golden.DoneWithError, (in NetlinkMessage m) => (NetlinkHandle.ParseDoneMessage(m, out string? t), t));

        Assert.That(errno, Is.EqualTo(22));
        Assert.That(text, Is.EqualTo("Invalid header for dump request"));
    }
}
