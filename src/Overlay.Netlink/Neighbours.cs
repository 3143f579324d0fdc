using System.Net;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>NUD_* states of a neighbour or FDB entry.</summary>
[Flags]
public enum NeighbourState : ushort
{
    None = 0,
    Incomplete = 0x01,
    Reachable = 0x02,
    Stale = 0x04,
    Delay = 0x08,
    Probe = 0x10,
    Failed = 0x20,
    NoArp = 0x40,
    Permanent = 0x80,
}

/// <summary>An ARP (IPv4) or NDP (IPv6) entry: <c>ADDRESS lladdr MAC dev INDEX nud STATE</c>.</summary>
public sealed record NeighbourEntry(int InterfaceIndex, IPAddress Address, MacAddress? Mac) : KernelEntry
{
    public NeighbourState State { get; init; } = NeighbourState.Permanent;

    /// <summary>NTF_* flags (NTF_ROUTER = 0x80, ...).</summary>
    public byte Flags { get; init; }

    internal override void Encode(ref NetlinkWriter writer, ChangeOperation operation, uint sequence)
    {
        bool delete = operation == ChangeOperation.Delete;
        writer.BeginMessage(delete ? Rtm.DelNeigh : Rtm.NewNeigh, RequestFlags(operation), sequence);
        NeighbourMessages.WriteHeader(ref writer, Family(Address), InterfaceIndex, delete ? (ushort)0 : (ushort)State, Flags);
        writer.WriteAddress(Nda.Dst, Address);
        if (Mac is MacAddress mac && !delete) writer.WriteMac(Nda.LinkLayerAddress, mac);
        writer.EndMessage();
    }

    internal override string Describe(ChangeOperation operation, Func<int, string> deviceName) =>
        $"{Verb(operation)} neighbour {Address}{(Mac is { } mac ? " lladdr " + mac : "")} dev {deviceName(InterfaceIndex)}";

    internal static NeighbourEntry? Decode(in NetlinkMessage message)
    {
        if (!NeighbourMessages.TryReadHeader(message, out byte family, out int index, out ushort state, out byte flags)) return null;
        if (family != AddressFamilies.Inet && family != AddressFamilies.Inet6) return null;
        IPAddress? address = null;
        MacAddress? mac = null;
        foreach (NetlinkAttribute attribute in message.AttributesAfter(Nda.MessageLength))
        {
            switch (attribute.Type)
            {
                case Nda.Dst: address = attribute.GetAddress(); break;
                case Nda.LinkLayerAddress: mac = attribute.GetMac(); break;
            }
        }
        return address is null ? null : new NeighbourEntry(index, address, mac) { State = (NeighbourState)state, Flags = flags };
    }
}

internal static class NeighbourMessages
{
    // struct ndmsg { u8 family; u8 pad1; u16 pad2; s32 ifindex; u16 state; u8 flags; u8 type; }
    public static void WriteHeader(ref NetlinkWriter writer, byte family, int index, ushort state, byte flags)
    {
        Span<byte> header = writer.WriteFamilyHeader(Nda.MessageLength);
        header[0] = family;
        HostOrder.WriteInt32(header[4..], index);
        HostOrder.WriteUInt16(header[8..], state);
        header[10] = flags;
    }

    public static bool TryReadHeader(in NetlinkMessage message, out byte family, out int index, out ushort state, out byte flags)
    {
        family = 0;
        index = 0;
        state = 0;
        flags = 0;
        if (message.Type != Rtm.NewNeigh && message.Type != Rtm.DelNeigh) return false;
        ReadOnlySpan<byte> header = message.Payload;
        if (header.Length < Nda.MessageLength) ParseError.Throw("ndmsg too short");
        family = header[0];
        index = HostOrder.ReadInt32(header[4..]);
        state = HostOrder.ReadUInt16(header[8..]);
        flags = header[10];
        return true;
    }
}

public sealed partial class NetlinkHandle
{
    /// <summary>
    /// Neighbours of one device, IPv4 and IPv6 unless <paramref name="family"/> says which. The kernel's own NOARP
    /// entries for multicast groups are included; they are real entries of the device.
    /// </summary>
    public IReadOnlyList<NeighbourEntry> ListNeighbours(int interfaceIndex, System.Net.Sockets.AddressFamily? family = null)
    {
        byte wireFamily = family switch
        {
            System.Net.Sockets.AddressFamily.InterNetwork => AddressFamilies.Inet,
            System.Net.Sockets.AddressFamily.InterNetworkV6 => AddressFamilies.Inet6,
            null => AddressFamilies.Unspec,
            _ => throw new ArgumentOutOfRangeException(nameof(family)),
        };
        lock (_sync)
        {
            EnsureOpen();
            return Dump(
                Rtm.GetNeigh,
                (ref NetlinkWriter w) =>
                {
                    NeighbourMessages.WriteHeader(ref w, wireFamily, 0, 0, 0);
                    // The kernel filters the dump on NDA_IFINDEX; the decoder checks again for older kernels.
                    w.WriteUInt32(Nda.IfIndex, (uint)interfaceIndex);
                },
                (in NetlinkMessage m) => NeighbourEntry.Decode(m) is { } n && n.InterfaceIndex == interfaceIndex ? n : null,
                () => "list neighbours dev " + DescribeDevice(interfaceIndex));
        }
    }

    public void AddNeighbour(NeighbourEntry neighbour) => Apply(ChangeOperation.Add, neighbour);

    public void ReplaceNeighbour(NeighbourEntry neighbour) => Apply(ChangeOperation.Replace, neighbour);

    public void DeleteNeighbour(NeighbourEntry neighbour) => Apply(ChangeOperation.Delete, neighbour);
}
