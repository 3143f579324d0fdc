using System.Globalization;
using System.Net;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>RFC 2863 operational state (IFLA_OPERSTATE).</summary>
public enum LinkOperationalState : byte
{
    Unknown = 0,
    NotPresent = 1,
    Down = 2,
    LowerLayerDown = 3,
    Testing = 4,
    Dormant = 5,
    Up = 6,
}

/// <summary>A network interface as the kernel reports it.</summary>
public sealed record LinkInfo(int Index, string Name)
{
    /// <summary>IFF_* flags (IFF_UP = 0x1, IFF_LOWER_UP = 0x10000, ...).</summary>
    public uint Flags { get; init; }

    public bool IsUp => (Flags & Ifla.FlagUp) != 0;

    public int Mtu { get; init; }

    public MacAddress? Mac { get; init; }

    /// <summary>IFLA_INFO_KIND, e.g. "vxlan", "dummy", "bridge"; null for physical devices and loopback.</summary>
    public string? Kind { get; init; }

    public LinkOperationalState OperationalState { get; init; }

    /// <summary>IFLA_LINK, the parent/lower device, when set.</summary>
    public int? ParentIndex { get; init; }

    /// <summary>IFLA_MASTER, e.g. the bridge this device is a port of.</summary>
    public int? MasterIndex { get; init; }

    /// <summary>The VXLAN settings when <see cref="Kind"/> is "vxlan".</summary>
    public VxlanInfo? Vxlan { get; init; }
}

/// <summary>VXLAN settings (IFLA_INFO_DATA of a vxlan link).</summary>
/// <param name="Vni">The VXLAN network identifier (IFLA_VXLAN_ID).</param>
/// <param name="Local">Source address for encapsulated packets, IPv4 or IPv6; null lets the kernel choose.</param>
/// <param name="UnderlayIndex">Interface used to reach the peers (IFLA_VXLAN_LINK); null for none.</param>
/// <param name="Port">UDP destination port; flannel uses 8472 (Linux's historic default), IANA's is 4789.</param>
/// <param name="Learning">Learn remote MACs from received packets (flannel turns this off).</param>
/// <param name="Gbp">Group Based Policy extension.</param>
public sealed record VxlanInfo(uint Vni, IPAddress? Local, int? UnderlayIndex, ushort Port = 8472, bool Learning = false, bool Gbp = false);

/// <summary>A vxlan device to create.</summary>
public sealed record VxlanLinkSpec(string Name, VxlanInfo Vxlan)
{
    public int? Mtu { get; init; }

    public MacAddress? Mac { get; init; }
}

internal static class LinkMessages
{
    public static Span<byte> WriteInfoHeader(ref NetlinkWriter writer, int index, uint flags = 0, uint change = 0)
    {
        Span<byte> header = writer.WriteFamilyHeader(Ifla.InfoMessageLength);
        HostOrder.WriteInt32(header[4..], index);
        HostOrder.WriteUInt32(header[8..], flags);
        HostOrder.WriteUInt32(header[12..], change);
        return header;
    }

    public static void WriteVxlanCreate(ref NetlinkWriter writer, VxlanLinkSpec spec, uint sequence)
    {
        writer.BeginMessage(Rtm.NewLink, Nl.Request | Nl.Ack | Nl.Create | Nl.Excl, sequence);
        WriteInfoHeader(ref writer, 0);
        writer.WriteString(Ifla.IfName, spec.Name);
        if (spec.Mtu is int mtu) writer.WriteUInt32(Ifla.Mtu, checked((uint)mtu));
        if (spec.Mac is MacAddress mac) writer.WriteMac(Ifla.Address, mac);
        int linkInfo = writer.BeginNested(Ifla.LinkInfo);
        writer.WriteString(Ifla.InfoKind, "vxlan");
        int data = writer.BeginNested(Ifla.InfoData);
        VxlanInfo vxlan = spec.Vxlan;
        writer.WriteUInt32(VxlanAttr.Id, vxlan.Vni);
        if (vxlan.Local is { } local)
        {
            writer.WriteAddress(local.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? VxlanAttr.Local6 : VxlanAttr.Local, local);
        }
        if (vxlan.UnderlayIndex is int underlay) writer.WriteUInt32(VxlanAttr.Link, checked((uint)underlay));
        writer.WriteUInt16BigEndian(VxlanAttr.Port, vxlan.Port);
        writer.WriteUInt8(VxlanAttr.Learning, vxlan.Learning ? (byte)1 : (byte)0);
        if (vxlan.Gbp) writer.WriteFlag(VxlanAttr.Gbp);
        writer.EndNested(data);
        writer.EndNested(linkInfo);
        writer.EndMessage();
    }

    public static LinkInfo? Decode(in NetlinkMessage message)
    {
        if (message.Type != Rtm.NewLink && message.Type != Rtm.DelLink) return null;
        ReadOnlySpan<byte> header = message.Payload;
        if (header.Length < Ifla.InfoMessageLength) ParseError.Throw("ifinfomsg too short");
        int index = HostOrder.ReadInt32(header[4..]);
        uint flags = HostOrder.ReadUInt32(header[8..]);
        string? name = null;
        int mtu = 0;
        MacAddress? mac = null;
        string? kind = null;
        var state = LinkOperationalState.Unknown;
        int? parent = null, master = null;
        VxlanInfo? vxlan = null;
        foreach (NetlinkAttribute attribute in message.AttributesAfter(Ifla.InfoMessageLength))
        {
            switch (attribute.Type)
            {
                case Ifla.IfName: name = attribute.GetString(); break;
                case Ifla.Mtu: mtu = (int)attribute.GetUInt32(); break;
                case Ifla.Address: mac = attribute.GetMac(); break;
                case Ifla.OperState: state = (LinkOperationalState)attribute.GetUInt8(); break;
                case Ifla.Link: parent = (int)attribute.GetUInt32(); break;
                case Ifla.Master: master = (int)attribute.GetUInt32(); break;
                case Ifla.LinkInfo: DecodeLinkInfo(attribute.Nested, out kind, out vxlan); break;
            }
        }
        return new LinkInfo(index, name ?? "if" + index.ToString(CultureInfo.InvariantCulture))
        {
            Flags = flags,
            Mtu = mtu,
            Mac = mac,
            Kind = kind,
            OperationalState = state,
            ParentIndex = parent,
            MasterIndex = master,
            Vxlan = vxlan,
        };
    }

    private static void DecodeLinkInfo(AttributeReader attributes, out string? kind, out VxlanInfo? vxlan)
    {
        kind = null;
        vxlan = null;
        AttributeReader data = default;
        bool hasData = false;
        foreach (NetlinkAttribute attribute in attributes)
        {
            if (attribute.Type == Ifla.InfoKind) kind = attribute.GetString();
            else if (attribute.Type == Ifla.InfoData)
            {
                data = attribute.Nested;
                hasData = true;
            }
        }
        if (hasData && kind == "vxlan") vxlan = DecodeVxlan(data);
    }

    private static VxlanInfo DecodeVxlan(AttributeReader attributes)
    {
        uint vni = 0;
        IPAddress? local = null;
        int? underlay = null;
        ushort port = 0;
        bool learning = false, gbp = false;
        foreach (NetlinkAttribute attribute in attributes)
        {
            switch (attribute.Type)
            {
                case VxlanAttr.Id: vni = attribute.GetUInt32(); break;
                case VxlanAttr.Local:
                case VxlanAttr.Local6: local = attribute.GetAddress(); break;
                case VxlanAttr.Link: underlay = (int)attribute.GetUInt32(); break;
                case VxlanAttr.Port: port = attribute.GetUInt16BigEndian(); break;
                case VxlanAttr.Learning: learning = attribute.GetUInt8() != 0; break;
                case VxlanAttr.Gbp: gbp = true; break;
            }
        }
        return new VxlanInfo(vni, local, underlay, port, learning, gbp);
    }
}

public sealed partial class NetlinkHandle
{
    public IReadOnlyList<LinkInfo> ListLinks()
    {
        lock (_sync)
        {
            EnsureOpen();
            return ListLinksLocked();
        }
    }

    private List<LinkInfo> ListLinksLocked() =>
        Dump(Rtm.GetLink, static (ref NetlinkWriter w) => LinkMessages.WriteInfoHeader(ref w, 0), LinkMessages.Decode, static () => "list links");

    /// <summary>The link with this name, or null if there is none.</summary>
    public LinkInfo? GetLink(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return GetLinkCore(0, name, () => "get link " + name);
    }

    /// <summary>The link with this index, or null if there is none.</summary>
    public LinkInfo? GetLink(int index) =>
        GetLinkCore(index, null, () => "get link " + index.ToString(CultureInfo.InvariantCulture));

    private LinkInfo? GetLinkCore(int index, string? name, Func<string> operation)
    {
        lock (_sync)
        {
            EnsureOpen();
            uint sequence = NextSequence();
            var writer = new NetlinkWriter(_request);
            writer.BeginMessage(Rtm.GetLink, Nl.Request, sequence);
            LinkMessages.WriteInfoHeader(ref writer, index);
            if (name is not null) writer.WriteString(Ifla.IfName, name);
            writer.EndMessage();
            int error = Query(writer.Written, sequence, LinkMessages.Decode, out LinkInfo? link, out string? kernelMessage);
            if (error == Errno.ENODEV) return null;
            if (error != 0) NetlinkException.Throw(operation(), error, kernelMessage);
            return link;
        }
    }

    /// <summary>The link with this name; throws ENODEV when there is none.</summary>
    public LinkInfo GetRequiredLink(string name) =>
        GetLink(name) ?? throw new NetlinkException("get link " + name, Errno.ENODEV, null);

    /// <summary>Creates a vxlan device (down, as the kernel creates links) and returns it as the kernel reports it.</summary>
    public LinkInfo CreateVxlan(VxlanLinkSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Name.Length is 0 or > 15) throw new ArgumentException("A link name has 1 to 15 characters.", nameof(spec));
        lock (_sync)
        {
            EnsureOpen();
            uint sequence = NextSequence();
            var writer = new NetlinkWriter(_request);
            LinkMessages.WriteVxlanCreate(ref writer, spec, sequence);
            Execute(writer.Written, sequence, () => DescribeVxlan(spec));
        }
        return GetRequiredLink(spec.Name);
    }

    private static string DescribeVxlan(VxlanLinkSpec spec)
    {
        VxlanInfo v = spec.Vxlan;
        string text = $"add link {spec.Name} type vxlan id {v.Vni}";
        if (v.Local is not null) text += $" local {v.Local}";
        if (v.UnderlayIndex is int u) text += $" dev if{u}";
        return text + $" dstport {v.Port}";
    }

    public void SetLinkUp(int index) => ModifyLink(index, Ifla.FlagUp, Ifla.FlagUp, null, null, "up");

    public void SetLinkDown(int index) => ModifyLink(index, 0, Ifla.FlagUp, null, null, "down");

    public void SetLinkMtu(int index, int mtu) =>
        ModifyLink(index, 0, 0, mtu, null, "mtu " + mtu.ToString(CultureInfo.InvariantCulture));

    public void SetLinkMac(int index, MacAddress mac) => ModifyLink(index, 0, 0, null, mac, "address " + mac);

    private void ModifyLink(int index, uint flags, uint change, int? mtu, MacAddress? mac, string what)
    {
        lock (_sync)
        {
            EnsureOpen();
            uint sequence = NextSequence();
            var writer = new NetlinkWriter(_request);
            writer.BeginMessage(Rtm.NewLink, Nl.Request | Nl.Ack, sequence);
            LinkMessages.WriteInfoHeader(ref writer, index, flags, change);
            if (mtu is int m) writer.WriteUInt32(Ifla.Mtu, checked((uint)m));
            if (mac is MacAddress a) writer.WriteMac(Ifla.Address, a);
            writer.EndMessage();
            Execute(writer.Written, sequence, () => $"set link {DescribeDevice(index)} {what}");
        }
    }

    public void DeleteLink(int index)
    {
        lock (_sync)
        {
            EnsureOpen();
            uint sequence = NextSequence();
            var writer = new NetlinkWriter(_request);
            writer.BeginMessage(Rtm.DelLink, Nl.Request | Nl.Ack, sequence);
            LinkMessages.WriteInfoHeader(ref writer, index);
            writer.EndMessage();
            Execute(writer.Written, sequence, () => "delete link " + DescribeDevice(index));
        }
    }

    /// <summary>A device's name for error messages; called with the lock held, after the failed request is done.</summary>
    private string DescribeDevice(int index)
    {
        string fallback = "if" + index.ToString(CultureInfo.InvariantCulture);
        try
        {
            return ListLinksLocked().FirstOrDefault(l => l.Index == index)?.Name ?? fallback;
        }
        catch (NetlinkException)
        {
            return fallback;
        }
    }
}
