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
}
