using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>An interface address, e.g. 192.0.2.10/24 on index 3.</summary>
public sealed record AddressEntry(int InterfaceIndex, IPAddress Address, int PrefixLength) : KernelEntry
{
    /// <summary>rtm scope: 0 universe (global), 253 link, 254 host.</summary>
    public byte Scope { get; init; }

    /// <summary>IFA_F_* flags as reported (IFA_F_PERMANENT = 0x80, ...); ignored when writing.</summary>
    public uint Flags { get; init; }

    public override string ToString() => $"{Address}/{PrefixLength} dev if{InterfaceIndex}";

    internal override void Encode(ref NetlinkWriter writer, ChangeOperation operation, uint sequence)
    {
        bool delete = operation == ChangeOperation.Delete;
        writer.BeginMessage(delete ? Rtm.DelAddr : Rtm.NewAddr, RequestFlags(operation), sequence);
        Span<byte> header = writer.WriteFamilyHeader(Ifa.MessageLength);
        header[0] = Family(Address);
        header[1] = checked((byte)PrefixLength);
        header[3] = Scope;
        HostOrder.WriteInt32(header[4..], InterfaceIndex);
        writer.WriteAddress(Ifa.Local, Address);
        writer.WriteAddress(Ifa.Address, Address);
        writer.EndMessage();
    }

    internal override string Describe(ChangeOperation operation, Func<int, string> deviceName) =>
        $"{Verb(operation)} address {Address}/{PrefixLength} dev {deviceName(InterfaceIndex)}";

    internal static AddressEntry? Decode(in NetlinkMessage message)
    {
        if (message.Type != Rtm.NewAddr && message.Type != Rtm.DelAddr) return null;
        ReadOnlySpan<byte> header = message.Payload;
        if (header.Length < Ifa.MessageLength) ParseError.Throw("ifaddrmsg too short");
        IPAddress? address = null, local = null;
        uint flags = header[2];
        foreach (NetlinkAttribute attribute in message.AttributesAfter(Ifa.MessageLength))
        {
            switch (attribute.Type)
            {
                case Ifa.Address: address = attribute.GetAddress(); break;
                case Ifa.Local: local = attribute.GetAddress(); break;
                case Ifa.Flags: flags = attribute.GetUInt32(); break;
            }
        }
        // For IPv4 IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on point-to-point links).
        IPAddress? own = local ?? address;
        if (own is null) return null;
        return new AddressEntry(HostOrder.ReadInt32(header[4..]), own, header[1]) { Scope = header[3], Flags = flags };
    }
}

public sealed partial class NetlinkHandle
{
    /// <summary>Addresses, optionally of one family and/or one interface.</summary>
    public IReadOnlyList<AddressEntry> ListAddresses(AddressFamily? family = null, int? interfaceIndex = null)
    {
        byte wireFamily = family switch
        {
            AddressFamily.InterNetwork => AddressFamilies.Inet,
            AddressFamily.InterNetworkV6 => AddressFamilies.Inet6,
            null => AddressFamilies.Unspec,
            _ => throw new ArgumentOutOfRangeException(nameof(family)),
        };
        lock (_sync)
        {
            EnsureOpen();
            List<AddressEntry> all = Dump(
                Rtm.GetAddr,
                (ref NetlinkWriter w) => w.WriteFamilyHeader(Ifa.MessageLength)[0] = wireFamily,
                AddressEntry.Decode,
                () => "list addresses" + (interfaceIndex is int i ? " dev " + i.ToString(CultureInfo.InvariantCulture) : ""));
            return interfaceIndex is int index ? all.FindAll(a => a.InterfaceIndex == index) : all;
        }
    }

    public void AddAddress(AddressEntry address) => Apply(ChangeOperation.Add, address);

    /// <summary>Adds the address or updates it in place (NLM_F_REPLACE).</summary>
    public void ReplaceAddress(AddressEntry address) => Apply(ChangeOperation.Replace, address);

    public void DeleteAddress(AddressEntry address) => Apply(ChangeOperation.Delete, address);
}
