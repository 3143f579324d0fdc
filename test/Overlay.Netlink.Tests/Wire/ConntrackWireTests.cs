using System.Net;
using System.Net.Sockets;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink.Tests.Wire;

/// <summary>ctnetlink messages against golden bytes (two captured from the kernel), and malformed entries.</summary>
public class ConntrackWireTests
{
    private static readonly ConntrackFlow DnsFlow = new(
        ProtocolType.Udp,
        new ConntrackTuple(IPAddress.Parse("198.18.1.2"), IPAddress.Parse("198.19.0.10"), 40000, 53),
        new ConntrackTuple(IPAddress.Parse("198.18.2.7"), IPAddress.Parse("198.18.1.2"), 53, 40000))
    {
        Id = 0x41eb704c,
    };

    private static ConntrackFlow? Decode(byte[] datagram)
    {
        var reader = new MessageReader(datagram);
        Assert.That(reader.TryRead(out NetlinkMessage message), Is.True);
        return ConntrackMessages.Decode(message);
    }

    private static string Encode(Action<byte[]> write)
    {
        var buffer = new byte[1024];
        write(buffer);
        return Convert.ToHexString(buffer.AsSpan(0, (int)HostOrder.ReadUInt32(buffer)));
    }

    [Test]
    public void A_dumped_ipv4_entry_decodes_its_tuples_ports_and_id()
    {
        Assert.That(Decode(Golden.ConntrackFromKernel), Is.EqualTo(DnsFlow));
    }

    [Test]
    public void A_dumped_ipv6_entry_decodes_with_its_zone()
    {
        ConntrackFlow? flow = Decode(Golden.ConntrackIPv6FromKernel);

        Assert.That(flow, Is.EqualTo(new ConntrackFlow(
            ProtocolType.Udp,
            new ConntrackTuple(IPAddress.Parse("2001:db8:1::2"), IPAddress.Parse("2001:db8:19::10"), 40000, 53),
            new ConntrackTuple(IPAddress.Parse("2001:db8:2::7"), IPAddress.Parse("2001:db8:1::2"), 53, 40000))
        {
            Zone = 7,
            Id = 0x8be7ba5e,
        }));
    }

    [Test]
    public void A_message_of_another_type_is_not_an_entry()
    {
        byte[] bytes = (byte[])Golden.ConntrackFromKernel.Clone();
        HostOrder.WriteUInt16(bytes.AsSpan(4), Ctnl.Delete);

        Assert.That(Decode(bytes), Is.Null);
        Assert.That(Decode(Golden.RouteFromKernel), Is.Null);
    }

    [Test]
    public void A_delete_names_the_entry_by_its_original_tuple_and_id()
    {
        string bytes = Encode(buffer =>
        {
            var writer = new NetlinkWriter(buffer);
            ConntrackMessages.WriteDelete(ref writer, 14, DnsFlow);
        });

        Assert.That(bytes, Is.EqualTo(Convert.ToHexString(Golden.ConntrackDelete)));
    }

    [Test]
    public void A_delete_of_a_zoned_entry_without_an_id_carries_the_zone_and_no_id()
    {
        string bytes = Encode(buffer =>
        {
            var writer = new NetlinkWriter(buffer);
            ConntrackMessages.WriteDelete(ref writer, 14, DnsFlow with { Zone = 7, Id = null });
        });

        string golden = Convert.ToHexString(Golden.ConntrackDelete);
        // Same message up to the tuple, then CTA_ZONE 7 (be16, padded) instead of CTA_ID.
        Assert.That(bytes[8..], Is.EqualTo(golden[8..^16] + "060012000007" + "0000"));
    }

    [Test]
    public void An_ipv4_dump_asks_the_kernel_to_filter_on_the_reply_source_protocol_and_port()
    {
        string bytes = Encode(buffer =>
        {
            var writer = new NetlinkWriter(buffer);
            ConntrackMessages.WriteDump(ref writer, 15, AddressFamilies.Inet, ProtocolType.Udp, IPAddress.Parse("198.18.2.7"), 53);
        });

        Assert.That(bytes, Is.EqualTo(Convert.ToHexString(Golden.ConntrackDumpFiltered)));
    }

    [Test]
    public void An_ipv6_dump_leaves_the_address_out_of_the_kernels_filter()
    {
        string bytes = Encode(buffer =>
        {
            var writer = new NetlinkWriter(buffer);
            ConntrackMessages.WriteDump(ref writer, 16, AddressFamilies.Inet6, ProtocolType.Udp, IPAddress.Parse("2001:db8:2::7"));
        });

        Assert.That(bytes, Is.EqualTo(Convert.ToHexString(Golden.ConntrackDumpFilteredIPv6)));
    }

    [Test]
    public void An_unfiltered_dump_is_the_header_and_the_family_alone()
    {
        string bytes = Encode(buffer =>
        {
            var writer = new NetlinkWriter(buffer);
            ConntrackMessages.WriteDump(ref writer, 17, AddressFamilies.Unspec);
        });

        Assert.That(bytes, Is.EqualTo("14000000" + "0101" + "0103" + "11000000" + "00000000" + "00000000"));
    }

    [Test]
    public void Only_udp_flows_whose_replies_come_from_the_endpoint_are_served_by_it()
    {
        IPAddress endpoint = IPAddress.Parse("198.18.2.7");

        Assert.That(DnsFlow.IsUdpServedBy(endpoint), Is.True);
        Assert.That(DnsFlow.IsUdpServedBy(endpoint, 53), Is.True);
        Assert.That(DnsFlow.IsUdpServedBy(endpoint, 5353), Is.False);
        Assert.That(DnsFlow.IsUdpServedBy(IPAddress.Parse("198.18.2.8")), Is.False);
        Assert.That((DnsFlow with { Protocol = ProtocolType.Tcp }).IsUdpServedBy(endpoint), Is.False);
        // The endpoint as the client (original source) is not the endpoint serving the flow.
        Assert.That(DnsFlow.IsUdpServedBy(IPAddress.Parse("198.18.1.2")), Is.False);
        Assert.That(DnsFlow.IsUdpServedBy(IPAddress.Parse("::ffff:198.18.2.7")), Is.False);
    }

    [Test]
    public void An_entry_without_its_reply_tuple_is_malformed()
    {
        // Drop CTA_TUPLE_REPLY (the second 0x34-byte attribute, right after the original tuple).
        byte[] bytes = [.. Golden.ConntrackFromKernel[..72], .. Golden.ConntrackFromKernel[124..]];
        HostOrder.WriteUInt32(bytes, (uint)bytes.Length);

        Assert.That(() => Decode(bytes), Throws.TypeOf<NetlinkParseException>().With.Message.Contains("reply"));
    }

    [Test]
    public void An_address_of_the_wrong_length_is_malformed()
    {
        byte[] bytes = (byte[])Golden.ConntrackFromKernel.Clone();
        bytes[28] = 7; // CTA_IP_V4_SRC of the original tuple: length 8 → 7 (3 address bytes)

        Assert.That(() => Decode(bytes), Throws.TypeOf<NetlinkParseException>());
    }

    [Test]
    public void A_tuple_with_an_ipv4_source_and_an_ipv6_destination_is_malformed()
    {
        byte[] bytes = (byte[])Golden.ConntrackIPv6FromKernel.Clone();
        // Turn the original tuple's CTA_IP_V6_SRC into a CTA_IP_V4_SRC of 16 bytes: refused by its length.
        bytes[30] = (byte)Cta.IpV4Src;

        Assert.That(() => Decode(bytes), Throws.TypeOf<NetlinkParseException>());
    }

    [Test]
    public void A_nested_length_that_leaves_its_parent_is_malformed()
    {
        byte[] bytes = (byte[])Golden.ConntrackFromKernel.Clone();
        bytes[24] = 0x40; // CTA_TUPLE_IP claims 64 bytes inside a 52-byte tuple

        Assert.That(() => Decode(bytes), Throws.TypeOf<NetlinkParseException>());
    }

    [Test]
    public void An_attribute_shorter_than_its_header_is_malformed_not_an_endless_loop()
    {
        byte[] bytes = (byte[])Golden.ConntrackFromKernel.Clone();
        bytes[20] = 0; // CTA_TUPLE_ORIG length 0
        bytes[21] = 0;

        Assert.That(() => Decode(bytes), Throws.TypeOf<NetlinkParseException>());
    }

    [Test]
    public void Every_truncation_of_a_dumped_entry_is_rejected_as_malformed()
    {
        int rejectedAfterTuples = 0;
        foreach (byte[] seed in new[] { Golden.ConntrackFromKernel, Golden.ConntrackIPv6FromKernel })
        {
            // Up to the end of the reply tuple every cut loses part of a tuple; later cuts lose only optional attributes.
            int tuplesEnd = Nl.HeaderLength + Nfnl.GenMessageLength + 2 * HostOrder.ReadUInt16(seed.AsSpan(20));
            for (int length = Nl.HeaderLength; length < seed.Length; length++)
            {
                byte[] cut = seed[..length];
                HostOrder.WriteUInt32(cut, (uint)length);
                if (length < tuplesEnd)
                {
                    Assert.That(() => Decode(cut), Throws.TypeOf<NetlinkParseException>(), $"cut at {length}");
                }
                else
                {
                    // A cut between attributes decodes the tuples whole; one inside an attribute is malformed.
                    ConntrackFlow? whole = Decode(seed);
                    try
                    {
                        ConntrackFlow? flow = Decode(cut);
                        Assert.That((flow?.Original, flow?.Reply), Is.EqualTo((whole?.Original, whole?.Reply)), $"cut at {length}");
                    }
                    catch (NetlinkParseException)
                    {
                        rejectedAfterTuples++;
                    }
                }
            }
        }
        Assert.That(rejectedAfterTuples, Is.GreaterThan(0));
    }
}
