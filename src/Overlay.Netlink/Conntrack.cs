using System.Net;
using System.Net.Sockets;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>One direction of a conntrack entry. Ports are 0 for protocols without ports (ICMP).</summary>
public sealed record ConntrackTuple(IPAddress Source, IPAddress Destination, ushort SourcePort, ushort DestinationPort)
{
    public override string ToString() => $"src={Source} dst={Destination} sport={SourcePort} dport={DestinationPort}";
}

/// <summary>
/// A conntrack entry as <c>conntrack -L</c> shows it: the original tuple is what the client sent (to a ClusterIP),
/// the reply tuple what comes back, so after DNAT the reply's source is the endpoint the flow was sent to.
/// </summary>
public sealed record ConntrackFlow(ProtocolType Protocol, ConntrackTuple Original, ConntrackTuple Reply)
{
    /// <summary>The conntrack zone (CTA_ZONE; 0 is the default zone).</summary>
    public ushort Zone { get; init; }

    /// <summary>
    /// The kernel's id of the entry (CTA_ID), when the dump carried it. A delete that names it cannot remove a newer
    /// entry that took the same tuple in between.
    /// </summary>
    public uint? Id { get; init; }

    /// <summary>
    /// A UDP flow whose replies come from <paramref name="endpoint"/> (and from <paramref name="port"/> when given):
    /// one DNATed to that endpoint, or sent to it directly.
    /// </summary>
    public bool IsUdpServedBy(IPAddress endpoint, int? port = null) =>
        Protocol == ProtocolType.Udp
        && Reply.Source.Equals(endpoint)
        && (port is null || Reply.SourcePort == port.Value);

    public override string ToString() => $"{Protocol.ToString().ToLowerInvariant()} {Original} reply {Reply}";
}

/// <summary>ctnetlink messages: the dump request, the delete request and the decoder of a dumped entry.</summary>
internal static class ConntrackMessages
{
    /// <summary>struct nfgenmsg: family, version 0, resource id 0.</summary>
    public static void WriteHeader(ref NetlinkWriter writer, byte family)
    {
        Span<byte> header = writer.WriteFamilyHeader(Nfnl.GenMessageLength);
        header[0] = family;
        header[1] = Nfnl.Version0;
    }

    /// <summary>
    /// IPCTNL_MSG_CT_GET with NLM_F_DUMP for one family (or both with AF_UNSPEC). With <paramref name="replySource"/>
    /// the kernel is asked for only the entries of <paramref name="protocol"/> whose reply tuple has that source (and
    /// source port); callers check every entry again, because the filter is a hint:
    /// <list type="bullet">
    /// <item>kernels before 5.8 do not know CTA_FILTER and ignore it;</item>
    /// <item>the kernel compares IPv6 addresses the wrong way round (<c>!ipv6_addr_cmp</c> in
    /// <c>ctnetlink_filter_match_tuple</c>, still so on 6.18: it drops exactly the matching entries), so for IPv6 only
    /// the protocol and port are filtered in the kernel and the address here.</item>
    /// </list>
    /// </summary>
    public static void WriteDump(ref NetlinkWriter writer, uint sequence, byte family, ProtocolType protocol = 0, IPAddress? replySource = null, ushort? replySourcePort = null)
    {
        writer.BeginMessage(Ctnl.Get, Nl.Request | Nl.Dump, sequence);
        WriteHeader(ref writer, family);
        if (replySource is not null)
        {
            bool filterAddress = !IsIPv6(replySource);
            int tuple = writer.BeginNested(Cta.TupleReply);
            if (filterAddress)
            {
                int ip = writer.BeginNested(Cta.TupleIp);
                writer.WriteAddress(Cta.IpV4Src, replySource);
                writer.EndNested(ip);
            }
            int proto = writer.BeginNested(Cta.TupleProto);
            writer.WriteUInt8(Cta.ProtoNum, (byte)protocol);
            if (replySourcePort is ushort port) writer.WriteUInt16BigEndian(Cta.ProtoSrcPort, port);
            writer.EndNested(proto);
            writer.EndNested(tuple);

            // CTA_FILTER is parsed strictly (unlike the tuples), so it must carry NLA_F_NESTED.
            int filter = writer.BeginNested(Cta.Filter | Nl.AttrNested);
            uint flags = Cta.FilterProtoNum | (filterAddress ? Cta.FilterIpSrc : 0) | (replySourcePort is null ? 0 : Cta.FilterProtoSrcPort);
            writer.WriteUInt32(Cta.FilterReplyFlags, flags);
            writer.EndNested(filter);
        }
        writer.EndMessage();
    }

    /// <summary>IPCTNL_MSG_CT_DELETE naming the entry by its original tuple, zone and id, asking for an ack.</summary>
    public static void WriteDelete(ref NetlinkWriter writer, uint sequence, ConntrackFlow flow)
    {
        writer.BeginMessage(Ctnl.Delete, Nl.Request | Nl.Ack, sequence);
        WriteHeader(ref writer, Family(flow.Original.Source));
        // The original tuple is what keeps this a single-entry delete: without it the kernel flushes the table.
        int tuple = writer.BeginNested(Cta.TupleOrig);
        int ip = writer.BeginNested(Cta.TupleIp);
        bool v6 = IsIPv6(flow.Original.Source);
        writer.WriteAddress(v6 ? Cta.IpV6Src : Cta.IpV4Src, flow.Original.Source);
        writer.WriteAddress(v6 ? Cta.IpV6Dst : Cta.IpV4Dst, flow.Original.Destination);
        writer.EndNested(ip);
        int proto = writer.BeginNested(Cta.TupleProto);
        writer.WriteUInt8(Cta.ProtoNum, (byte)flow.Protocol);
        writer.WriteUInt16BigEndian(Cta.ProtoSrcPort, flow.Original.SourcePort);
        writer.WriteUInt16BigEndian(Cta.ProtoDstPort, flow.Original.DestinationPort);
        writer.EndNested(proto);
        writer.EndNested(tuple);
        if (flow.Zone != 0) writer.WriteUInt16BigEndian(Cta.Zone, flow.Zone);
        if (flow.Id is uint id) writer.WriteUInt32BigEndian(Cta.Id, id);
        writer.EndMessage();
    }

    /// <summary>A dumped entry (IPCTNL_MSG_CT_NEW); null for any other message type.</summary>
    public static ConntrackFlow? Decode(in NetlinkMessage message)
    {
        if (message.Type != Ctnl.New) return null;
        if (message.Payload.Length < Nfnl.GenMessageLength) ParseError.Throw("nfgenmsg too short");
        ConntrackTuple? original = null;
        ConntrackTuple? reply = null;
        byte protocol = 0;
        ushort zone = 0;
        ushort originalZone = 0;
        uint? id = null;
        foreach (NetlinkAttribute attribute in message.AttributesAfter(Nfnl.GenMessageLength))
        {
            switch (attribute.Type)
            {
                case Cta.TupleOrig:
                    original = DecodeTuple(attribute.Nested, out protocol, out originalZone);
                    break;
                case Cta.TupleReply:
                    reply = DecodeTuple(attribute.Nested, out byte replyProtocol, out _);
                    if (original is not null && replyProtocol != protocol) ParseError.Throw("conntrack tuples of different protocols");
                    break;
                case Cta.Zone:
                    zone = attribute.GetUInt16BigEndian();
                    break;
                case Cta.Id:
                    id = attribute.GetUInt32BigEndian();
                    break;
            }
        }
        if (original is null || reply is null) ParseError.Throw("conntrack entry without its original and reply tuples");
        // A zone that applies to the original direction only comes inside that tuple instead of as CTA_ZONE.
        return new ConntrackFlow((ProtocolType)protocol, original, reply) { Zone = zone != 0 ? zone : originalZone, Id = id };
    }

    private static ConntrackTuple DecodeTuple(AttributeReader attributes, out byte protocol, out ushort zone)
    {
        IPAddress? source = null;
        IPAddress? destination = null;
        bool hasProtocol = false;
        protocol = 0;
        zone = 0;
        ushort sourcePort = 0;
        ushort destinationPort = 0;
        foreach (NetlinkAttribute attribute in attributes)
        {
            switch (attribute.Type)
            {
                case Cta.TupleIp:
                    foreach (NetlinkAttribute address in attribute.Nested)
                    {
                        switch (address.Type)
                        {
                            case Cta.IpV4Src: source = GetAddress(address, 4); break;
                            case Cta.IpV4Dst: destination = GetAddress(address, 4); break;
                            case Cta.IpV6Src: source = GetAddress(address, 16); break;
                            case Cta.IpV6Dst: destination = GetAddress(address, 16); break;
                        }
                    }
                    break;
                case Cta.TupleProto:
                    foreach (NetlinkAttribute field in attribute.Nested)
                    {
                        switch (field.Type)
                        {
                            case Cta.ProtoNum: protocol = field.GetUInt8(); hasProtocol = true; break;
                            case Cta.ProtoSrcPort: sourcePort = field.GetUInt16BigEndian(); break;
                            case Cta.ProtoDstPort: destinationPort = field.GetUInt16BigEndian(); break;
                        }
                    }
                    break;
                case Cta.TupleZone:
                    zone = attribute.GetUInt16BigEndian();
                    break;
            }
        }
        if (source is null || destination is null) ParseError.Throw("conntrack tuple without its addresses");
        if (source.AddressFamily != destination.AddressFamily) ParseError.Throw("conntrack tuple with addresses of two families");
        if (!hasProtocol) ParseError.Throw("conntrack tuple without its protocol");
        return new ConntrackTuple(source, destination, sourcePort, destinationPort);
    }

    private static IPAddress GetAddress(in NetlinkAttribute attribute, int length) =>
        attribute.Value.Length == length ? new IPAddress(attribute.Value) : ParseError.Throw<IPAddress>("conntrack address of the wrong length");

    public static bool IsIPv6(IPAddress address) => address.AddressFamily == AddressFamily.InterNetworkV6;

    public static byte Family(IPAddress address) => IsIPv6(address) ? AddressFamilies.Inet6 : AddressFamilies.Inet;

    /// <summary>Protocols whose tuples are addresses and ports, so an entry is named by what a dump returns.</summary>
    public static bool HasPorts(ProtocolType protocol) =>
        protocol is ProtocolType.Tcp or ProtocolType.Udp or (ProtocolType)132 /* SCTP */ or (ProtocolType)33 /* DCCP */ or (ProtocolType)136 /* UDP-Lite */;
}
