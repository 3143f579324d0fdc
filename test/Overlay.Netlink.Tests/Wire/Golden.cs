namespace Overlay.Netlink.Tests.Wire;

/// <summary>
/// Byte-exact messages written out by hand from the uapi layouts (little-endian host), one group of bytes per
/// header or attribute, so a test failure points at the field that moved.
/// </summary>
internal static class Golden
{
    public static byte[] Hex(string spaced) => Convert.FromHexString(string.Concat(spaced.Where(c => !char.IsWhiteSpace(c))));

    /// <summary>replace route 198.18.2.0/24 via 198.18.2.0 dev 5 onlink, seq 1.</summary>
    public static readonly byte[] RouteReplaceOnLink = Hex("""
        34000000 1800 0505 01000000 00000000
        02 18 00 00 fe 03 00 01 04000000
        0800 0100 c6120200
        0800 0500 c6120200
        0800 0400 05000000
        """);

    /// <summary>fdb replace 0e:4a:00:00:00:02 dev 5 dst 203.0.113.2 self permanent, seq 2.</summary>
    public static readonly byte[] FdbReplace = Hex("""
        30000000 1c00 0505 02000000 00000000
        07 00 0000 05000000 8000 02 00
        0a00 0200 0e4a00000002 0000
        0800 0100 cb007102
        """);

    /// <summary>neigh replace 198.18.2.0 lladdr 0e:4a:00:00:00:02 dev 5 nud permanent, seq 3.</summary>
    public static readonly byte[] NeighbourReplace = Hex("""
        30000000 1c00 0505 03000000 00000000
        02 00 0000 05000000 8000 00 00
        0800 0100 c6120200
        0a00 0200 0e4a00000002 0000
        """);

    /// <summary>link add flannel.1 mtu 1450 address 0e:4a:00:00:00:01 type vxlan id 1 local 192.0.2.1 dev 2 dstport 8472 nolearning gbp, seq 4.</summary>
    public static readonly byte[] VxlanCreate = Hex("""
        84000000 1000 0506 04000000 00000000
        00 00 0000 00000000 00000000 00000000
        0e00 0300 666c616e6e656c2e3100 0000
        0800 0400 aa050000
        0a00 0100 0e4a00000001 0000
        4000 1200
          0a00 0100 76786c616e00 0000
          3000 0200
            0800 0100 01000000
            0800 0400 c0000201
            0800 0300 02000000
            0600 0f00 2118 0000
            0500 0700 00 000000
            0400 1700
        """);

    /// <summary>addr add 2001:db8::1/64 dev 3, seq 5.</summary>
    public static readonly byte[] AddressAddIPv6 = Hex("""
        40000000 1400 0506 05000000 00000000
        0a 40 00 00 03000000
        1400 0200 20010db8000000000000000000000001
        1400 0100 20010db8000000000000000000000001
        """);

    /// <summary>
    /// What the kernel sends for the route above in a dump: RTM_NEWROUTE, multi-part, with RTA_TABLE first.
    /// </summary>
    public static readonly byte[] RouteFromKernel = Hex("""
        3c000000 1800 0200 09000000 00000000
        02 18 00 00 fe 03 00 01 04000000
        0800 0f00 fe000000
        0800 0100 c6120200
        0800 0500 c6120200
        0800 0400 05000000
        """);

    /// <summary>
    /// An NLMSG_ERROR for request seq 9 with ENETUNREACH (-101), capped (only the request's header is echoed) and
    /// an NLMSGERR_ATTR_MSG.
    /// </summary>
    public static readonly byte[] ErrorWithExtAck = Hex("""
        44000000 0200 0003 09000000 00000000
        9bffffff
        34000000 1800 0505 09000000 00000000
        2000 0100 4e657874686f702068617320696e76616c69642067617465776179 00
        """);

    /// <summary>An ack (error 0) for seq 10, capped, no attributes.</summary>
    public static readonly byte[] Ack = Hex("""
        24000000 0200 0001 0a000000 00000000
        00000000
        34000000 1800 0505 0a000000 00000000
        """);

    /// <summary>The end of a dump (seq 11) that failed with EINVAL (-22), with NLM_F_ACK_TLVS and a message.</summary>
    public static readonly byte[] DoneWithError = Hex("""
        38000000 0300 0202 0b000000 00000000
        eaffffff
        2400 0100 496e76616c69642068656164657220666f722064756d70207265717565737400
        """);

    /// <summary>
    /// A conntrack entry as the kernel (6.18) dumped it, captured with only seq and port id changed: udp
    /// 198.18.1.2:40000 → 198.19.0.10:53, reply from 198.18.2.7:53 (DNATed), id 0x41eb704c. Nested attributes carry
    /// NLA_F_NESTED; CTA_SYNPROXY (24) comes last.
    /// </summary>
    public static readonly byte[] ConntrackFromKernel = Hex("""
        c0000000 0001 2200 0c000000 00000000
        02 00 0000
        3400 0180
          1400 0180
            0800 0100 c6120102
            0800 0200 c613000a
          1c00 0280
            0500 0100 11 000000
            0600 0200 9c40 0000
            0600 0300 0035 0000
        3400 0280
          1400 0180
            0800 0100 c6120207
            0800 0200 c6120102
          1c00 0280
            0500 0100 11 000000
            0600 0200 0035 0000
            0600 0300 9c40 0000
        0800 0300 00000008
        0800 0800 00000000
        0800 0c00 41eb704c
        0800 0b00 00000001
        0800 0700 0000003a
        1c00 1880
          0800 0100 00000000
          0800 0200 00000000
          0800 0300 00000000
        """);

    /// <summary>
    /// The IPv6 twin in zone 7 (CTA_ZONE, big-endian): udp [2001:db8:1::2]:40000 → [2001:db8:19::10]:53, reply from
    /// [2001:db8:2::7]:53, id 0x8be7ba5e.
    /// </summary>
    public static readonly byte[] ConntrackIPv6FromKernel = Hex("""
        f8000000 0001 2200 0d000000 00000000
        0a 00 0000
        4c00 0180
          2c00 0180
            1400 0300 20010db8000100000000000000000002
            1400 0400 20010db8001900000000000000000010
          1c00 0280
            0500 0100 11 000000
            0600 0200 9c40 0000
            0600 0300 0035 0000
        4c00 0280
          2c00 0180
            1400 0300 20010db8000200000000000000000007
            1400 0400 20010db8000100000000000000000002
          1c00 0280
            0500 0100 11 000000
            0600 0200 0035 0000
            0600 0300 9c40 0000
        0600 1200 0007 0000
        0800 0300 00000008
        0800 0800 00000000
        0800 0c00 8be7ba5e
        0800 0b00 00000001
        0800 0700 00000038
        1c00 1880
          0800 0100 00000000
          0800 0200 00000000
          0800 0300 00000000
        """);

    /// <summary>Delete the IPv4 entry above by its original tuple and id, with an ack, seq 14.</summary>
    public static readonly byte[] ConntrackDelete = Hex("""
        50000000 0201 0500 0e000000 00000000
        02 00 0000
        3400 0100
          1400 0100
            0800 0100 c6120102
            0800 0200 c613000a
          1c00 0200
            0500 0100 11 000000
            0600 0200 9c40 0000
            0600 0300 0035 0000
        0800 0c00 41eb704c
        """);

    /// <summary>
    /// Dump the IPv4 table filtered by the kernel to udp entries whose reply comes from 198.18.2.7:53, seq 15:
    /// CTA_TUPLE_REPLY with the values, CTA_FILTER (NLA_F_NESTED) with CTA_FILTER_REPLY_FLAGS = IP_SRC | PROTO_NUM |
    /// PROTO_SRC_PORT.
    /// </summary>
    public static readonly byte[] ConntrackDumpFiltered = Hex("""
        44000000 0101 0103 0f000000 00000000
        02 00 0000
        2400 0200
          0c00 0100
            0800 0100 c6120207
          1400 0200
            0500 0100 11 000000
            0600 0200 0035 0000
        0c00 1980
          0800 0200 19000000
        """);

    /// <summary>The IPv6 version (2001:db8:2::7, any port), seq 16: no address in the filter, only PROTO_NUM.</summary>
    public static readonly byte[] ConntrackDumpFilteredIPv6 = Hex("""
        30000000 0101 0103 10000000 00000000
        0a 00 0000
        1000 0200
          0c00 0200
            0500 0100 11 000000
        0c00 1980
          0800 0200 08000000
        """);
}
