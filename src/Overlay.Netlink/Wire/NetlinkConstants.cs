namespace Overlay.Netlink.Wire;

// Values from the kernel uapi headers (netlink.h, rtnetlink.h, if_link.h, if_addr.h, neighbour.h).

internal static class Nl
{
    public const int NetlinkRoute = 0;
    public const int SolNetlink = 270;

    // setsockopt(SOL_NETLINK, ...)
    public const int AddMembership = 1;
    public const int CapAck = 10;
    public const int ExtAck = 11;

    public const int HeaderLength = 16;
    public const int AttributeHeaderLength = 4;

    // Message types below NLMSG_MIN_TYPE (0x10).
    public const ushort Noop = 1;
    public const ushort Error = 2;
    public const ushort Done = 3;
    public const ushort Overrun = 4;

    // Header flags.
    public const ushort Request = 0x1;
    public const ushort Multi = 0x2;
    public const ushort Ack = 0x4;
    public const ushort DumpInterrupted = 0x10;
    public const ushort Dump = 0x300;
    public const ushort Replace = 0x100;
    public const ushort Excl = 0x200;
    public const ushort Create = 0x400;
    public const ushort Append = 0x800;

    // Flags on an NLMSG_ERROR message.
    public const ushort Capped = 0x100;
    public const ushort AckTlvs = 0x200;

    // NLA_F_NESTED: strict parsers (nla_parse_nested) refuse a nested attribute without it.
    public const ushort AttrNested = 0x8000;

    // struct nlmsgerr attributes.
    public const ushort ErrAttrMsg = 1;

    public static int Align(int length) => (length + 3) & ~3;
}

internal static class Rtm
{
    public const ushort NewLink = 16;
    public const ushort DelLink = 17;
    public const ushort GetLink = 18;
    public const ushort NewAddr = 20;
    public const ushort DelAddr = 21;
    public const ushort GetAddr = 22;
    public const ushort NewRoute = 24;
    public const ushort DelRoute = 25;
    public const ushort GetRoute = 26;
    public const ushort NewNeigh = 28;
    public const ushort DelNeigh = 29;
    public const ushort GetNeigh = 30;

    // Multicast group bit masks for sockaddr_nl.nl_groups (RTMGRP_*).
    public const uint GroupLink = 0x1;
    public const uint GroupNeigh = 0x4;
    public const uint GroupIPv4Addr = 0x10;
    public const uint GroupIPv4Route = 0x40;
    public const uint GroupIPv6Addr = 0x100;
    public const uint GroupIPv6Route = 0x400;

    public const byte TableUnspec = 0;
    public const byte TableMain = 254;
    public const byte TableLocal = 255;

    public const byte ProtoUnspec = 0;
    public const byte ProtoKernel = 2;
    public const byte ProtoBoot = 3;

    public const byte ScopeUniverse = 0;
    public const byte ScopeLink = 253;
    public const byte ScopeHost = 254;
    public const byte ScopeNowhere = 255;

    public const byte TypeUnicast = 1;

    public const uint NextHopOnLink = 0x4;   // RTNH_F_ONLINK
    public const uint FlagCloned = 0x200;    // RTM_F_CLONED
}

internal static class AddressFamilies
{
    public const byte Unspec = 0;
    public const byte Inet = 2;
    public const byte Bridge = 7;
    public const byte Inet6 = 10;
}

internal static class Ifla
{
    public const int InfoMessageLength = 16; // struct ifinfomsg

    public const ushort Address = 1;
    public const ushort IfName = 3;
    public const ushort Mtu = 4;
    public const ushort Link = 5;
    public const ushort Master = 10;
    public const ushort OperState = 16;
    public const ushort LinkInfo = 18;
    public const ushort ExtMask = 29;

    public const ushort InfoKind = 1;
    public const ushort InfoData = 2;

    public const uint FlagUp = 0x1; // IFF_UP
    public const uint FlagLowerUp = 0x10000;
}

internal static class VxlanAttr
{
    public const ushort Id = 1;
    public const ushort Link = 3;
    public const ushort Local = 4;
    public const ushort Learning = 7;
    public const ushort Port = 15;
    public const ushort Local6 = 17;
    public const ushort Gbp = 23;
}

internal static class Ifa
{
    public const int MessageLength = 8; // struct ifaddrmsg

    public const ushort Address = 1;
    public const ushort Local = 2;
    public const ushort Label = 3;
    public const ushort Flags = 8;
}

internal static class Rta
{
    public const int MessageLength = 12; // struct rtmsg

    public const ushort Dst = 1;
    public const ushort Oif = 4;
    public const ushort Gateway = 5;
    public const ushort Priority = 6;
    public const ushort PrefSrc = 7;
    public const ushort Table = 15;
}

internal static class Nda
{
    public const int MessageLength = 12; // struct ndmsg

    public const ushort Dst = 1;
    public const ushort LinkLayerAddress = 2;
    public const ushort Vlan = 5;
    public const ushort Port = 6;
    public const ushort Vni = 7;
    public const ushort IfIndex = 8;
    public const ushort Master = 9;

    public const ushort StatePermanent = 0x80;
    public const byte FlagSelf = 0x2;
    public const byte FlagMaster = 0x4;
}

// Values from linux/netfilter/nfnetlink.h and nfnetlink_conntrack.h; the CTA_FILTER_F_* bits from the kernel's
// net/netfilter/nf_internals.h (not exported, but ABI: libnetfilter_conntrack uses the same values).

internal static class Nfnl
{
    public const int NetlinkNetfilter = 12;
    public const int GenMessageLength = 4; // struct nfgenmsg { u8 family; u8 version; be16 res_id; }
    public const byte Version0 = 0;
    public const byte SubsysCtnetlink = 1;
}

internal static class Ctnl
{
    public const byte MsgNew = 0;
    public const byte MsgGet = 1;
    public const byte MsgDelete = 2;

    // (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_*
    public const ushort New = (Nfnl.SubsysCtnetlink << 8) | MsgNew;
    public const ushort Get = (Nfnl.SubsysCtnetlink << 8) | MsgGet;
    public const ushort Delete = (Nfnl.SubsysCtnetlink << 8) | MsgDelete;
}

internal static class Cta
{
    // enum ctattr_type
    public const ushort TupleOrig = 1;
    public const ushort TupleReply = 2;
    public const ushort Status = 3;
    public const ushort Timeout = 7;
    public const ushort Mark = 8;
    public const ushort Id = 12;
    public const ushort Zone = 18;
    public const ushort Filter = 25;

    // enum ctattr_tuple
    public const ushort TupleIp = 1;
    public const ushort TupleProto = 2;
    public const ushort TupleZone = 3;

    // enum ctattr_ip
    public const ushort IpV4Src = 1;
    public const ushort IpV4Dst = 2;
    public const ushort IpV6Src = 3;
    public const ushort IpV6Dst = 4;

    // enum ctattr_l4proto
    public const ushort ProtoNum = 1;
    public const ushort ProtoSrcPort = 2;
    public const ushort ProtoDstPort = 3;

    // enum ctattr_filter
    public const ushort FilterOrigFlags = 1;
    public const ushort FilterReplyFlags = 2;

    // CTA_FILTER_F_CTA_*: which fields of the filter tuple the kernel compares.
    public const uint FilterIpSrc = 1 << 0;
    public const uint FilterIpDst = 1 << 1;
    public const uint FilterProtoNum = 1 << 3;
    public const uint FilterProtoSrcPort = 1 << 4;
    public const uint FilterProtoDstPort = 1 << 5;
}
