using System.Net;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>NTF_* flags of a forwarding database entry.</summary>
[Flags]
public enum FdbFlags : byte
{
    None = 0,

    /// <summary>The entry is in the device's own table (vxlan), not its bridge master's.</summary>
    Self = 0x02,

    /// <summary>The entry is in the bridge master's table.</summary>
    Master = 0x04,

    ExternallyLearned = 0x10,
}

/// <summary>
/// A forwarding database entry (AF_BRIDGE neighbour): <c>MAC dev INDEX dst DESTINATION self permanent</c>.
/// On a vxlan device, <see cref="Destination"/> is the remote VTEP's underlay address.
/// </summary>
public sealed record FdbEntry(int InterfaceIndex, MacAddress Mac, IPAddress? Destination) : KernelEntry
{
    public NeighbourState State { get; init; } = NeighbourState.Permanent;

    public FdbFlags Flags { get; init; } = FdbFlags.Self;

    /// <summary>NDA_VNI: a remote VNI differing from the device's; null for the device's own.</summary>
    public uint? Vni { get; init; }

    /// <summary>NDA_PORT: a remote UDP port differing from the device's; null for the device's own.</summary>
    public ushort? Port { get; init; }

    internal override void Encode(ref NetlinkWriter writer, ChangeOperation operation, uint sequence)
    {
        bool delete = operation == ChangeOperation.Delete;
        writer.BeginMessage(delete ? Rtm.DelNeigh : Rtm.NewNeigh, RequestFlags(operation), sequence);
        NeighbourMessages.WriteHeader(ref writer, AddressFamilies.Bridge, InterfaceIndex, delete ? (ushort)0 : (ushort)State, (byte)Flags);
        writer.WriteMac(Nda.LinkLayerAddress, Mac);
        if (Destination is not null) writer.WriteAddress(Nda.Dst, Destination);
        if (Vni is uint vni) writer.WriteUInt32(Nda.Vni, vni);
        if (Port is ushort port) writer.WriteUInt16BigEndian(Nda.Port, port);
        writer.EndMessage();
    }

    internal override string Describe(ChangeOperation operation, Func<int, string> deviceName) =>
        $"{Verb(operation)} fdb {Mac} dev {deviceName(InterfaceIndex)}{(Destination is null ? "" : " dst " + Destination)}";

    internal static FdbEntry? Decode(in NetlinkMessage message)
    {
        if (!NeighbourMessages.TryReadHeader(message, out byte family, out int index, out ushort state, out byte flags)) return null;
        if (family != AddressFamilies.Bridge) return null;
        IPAddress? destination = null;
        MacAddress? mac = null;
        uint? vni = null;
        ushort? port = null;
        foreach (NetlinkAttribute attribute in message.AttributesAfter(Nda.MessageLength))
        {
            switch (attribute.Type)
            {
                case Nda.Dst: destination = attribute.GetAddress(); break;
                case Nda.LinkLayerAddress: mac = attribute.GetMac(); break;
                case Nda.Vni: vni = attribute.GetUInt32(); break;
                case Nda.Port: port = attribute.GetUInt16BigEndian(); break;
            }
        }
        if (mac is not MacAddress found) return null;
        return new FdbEntry(index, found, destination) { State = (NeighbourState)state, Flags = (FdbFlags)flags, Vni = vni, Port = port };
    }
}

public sealed partial class NetlinkHandle
{
    /// <summary>FDB entries of one device (for a vxlan device: its remote destinations).</summary>
    public IReadOnlyList<FdbEntry> ListFdb(int interfaceIndex)
    {
        lock (_sync)
        {
            EnsureOpen();
            return Dump(
                Rtm.GetNeigh,
                (ref NetlinkWriter w) =>
                {
                    // An ifinfomsg-sized header with ifi_index asks the kernel to dump only that device.
                    LinkMessages.WriteInfoHeader(ref w, interfaceIndex)[0] = AddressFamilies.Bridge;
                },
                (in NetlinkMessage m) => FdbEntry.Decode(m) is { } e && e.InterfaceIndex == interfaceIndex ? e : null,
                () => "list fdb dev " + DescribeDevice(interfaceIndex));
        }
    }

    public void AddFdb(FdbEntry entry) => Apply(ChangeOperation.Add, entry);

    public void ReplaceFdb(FdbEntry entry) => Apply(ChangeOperation.Replace, entry);

    public void AppendFdb(FdbEntry entry) => Apply(ChangeOperation.Append, entry);

    public void DeleteFdb(FdbEntry entry) => Apply(ChangeOperation.Delete, entry);
}
