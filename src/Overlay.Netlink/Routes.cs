using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Netlink.Wire;

namespace Overlay.Netlink;

/// <summary>
/// A unicast route. Build the common shapes with <see cref="ViaGateway"/> and <see cref="OnDevice"/>; the defaults
/// (main table, protocol boot, scope universe) are what the kernel reports back for such routes, so a desired
/// entry compares equal to the one listed after programming it.
/// </summary>
public sealed record RouteEntry(IPNetwork Destination, IPAddress? Gateway, int InterfaceIndex) : KernelEntry
{
    /// <summary>RTNH_F_ONLINK: the gateway is on the link even though no address of the device covers it.</summary>
    public bool OnLink { get; init; }

    public int Table { get; init; } = Rtm.TableMain;

    /// <summary>RTPROT_*: 2 kernel, 3 boot (what `ip route` uses), 4 static.</summary>
    public byte Protocol { get; init; } = Rtm.ProtoBoot;

    /// <summary>0 universe, 253 link, 254 host.</summary>
    public byte Scope { get; init; } = Rtm.ScopeUniverse;

    /// <summary>RTN_*: 1 unicast, 2 local, 3 broadcast, ...</summary>
    public byte Type { get; init; } = Rtm.TypeUnicast;

    /// <summary>RTA_PRIORITY; IPv6 routes get 1024 from the kernel when 0 is asked.</summary>
    public int Metric { get; init; }

    public IPAddress? PreferredSource { get; init; }

    /// <summary>`DST via GATEWAY dev INDEX [onlink]`; a device index of 0 lets the kernel find the device.</summary>
    public static RouteEntry ViaGateway(IPNetwork destination, IPAddress gateway, int interfaceIndex = 0, bool onLink = false) =>
        new(destination, gateway, interfaceIndex) { OnLink = onLink };

    /// <summary>`DST dev INDEX scope link`: a directly connected prefix.</summary>
    public static RouteEntry OnDevice(IPNetwork destination, int interfaceIndex) =>
        new(destination, null, interfaceIndex) { Scope = Rtm.ScopeLink };

    internal override void Encode(ref NetlinkWriter writer, ChangeOperation operation, uint sequence)
    {
        bool delete = operation == ChangeOperation.Delete;
        writer.BeginMessage(delete ? Rtm.DelRoute : Rtm.NewRoute, RequestFlags(operation), sequence);
        Span<byte> header = writer.WriteFamilyHeader(Rta.MessageLength);
        header[0] = Family(Destination.BaseAddress);
        header[1] = (byte)Destination.PrefixLength;
        header[4] = Table < 256 ? (byte)Table : Rtm.TableUnspec;
        // A delete matches any protocol, scope and type unless they are given; like `ip route del`.
        header[5] = delete ? Rtm.ProtoUnspec : Protocol;
        header[6] = delete ? Rtm.ScopeNowhere : Scope;
        header[7] = delete ? (byte)0 : Type;
        if (OnLink) HostOrder.WriteUInt32(header[8..], Rtm.NextHopOnLink);
        if (Table >= 256) writer.WriteUInt32(Rta.Table, (uint)Table);
        writer.WriteAddress(Rta.Dst, Destination.BaseAddress);
        if (Gateway is not null) writer.WriteAddress(Rta.Gateway, Gateway);
        if (InterfaceIndex != 0) writer.WriteUInt32(Rta.Oif, (uint)InterfaceIndex);
        if (Metric != 0) writer.WriteUInt32(Rta.Priority, (uint)Metric);
        if (PreferredSource is not null && !delete) writer.WriteAddress(Rta.PrefSrc, PreferredSource);
        writer.EndMessage();
    }

    internal override string Describe(ChangeOperation operation, Func<int, string> deviceName)
    {
        string text = $"{Verb(operation)} route {Destination}";
        if (Gateway is not null) text += $" via {Gateway}";
        if (InterfaceIndex != 0) text += $" dev {deviceName(InterfaceIndex)}";
        if (Table != Rtm.TableMain) text += $" table {Table}";
        if (OnLink) text += " onlink";
        return text;
    }

    internal static RouteEntry? Decode(in NetlinkMessage message)
    {
        if (message.Type != Rtm.NewRoute && message.Type != Rtm.DelRoute) return null;
        ReadOnlySpan<byte> header = message.Payload;
        if (header.Length < Rta.MessageLength) ParseError.Throw("rtmsg too short");
        byte family = header[0];
        if (family != AddressFamilies.Inet && family != AddressFamilies.Inet6) return null;
        int prefixLength = header[1];
        int maxPrefix = family == AddressFamilies.Inet ? 32 : 128;
        if (prefixLength > maxPrefix) ParseError.Throw("route prefix length out of range");
        uint flags = HostOrder.ReadUInt32(header[8..]);
        int table = header[4];
        IPAddress? destination = null, gateway = null, source = null;
        int oif = 0, metric = 0;
        foreach (NetlinkAttribute attribute in message.AttributesAfter(Rta.MessageLength))
        {
            switch (attribute.Type)
            {
                case Rta.Dst: destination = attribute.GetAddress(); break;
                case Rta.Gateway: gateway = attribute.GetAddress(); break;
                case Rta.Oif: oif = (int)attribute.GetUInt32(); break;
                case Rta.Priority: metric = (int)attribute.GetUInt32(); break;
                case Rta.PrefSrc: source = attribute.GetAddress(); break;
                case Rta.Table: table = (int)attribute.GetUInt32(); break;
            }
        }
        destination ??= family == AddressFamilies.Inet ? IPAddress.Any : IPAddress.IPv6Any;
        if (destination.AddressFamily != (family == AddressFamilies.Inet ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6))
        {
            ParseError.Throw("route destination of the wrong family");
        }
        return new RouteEntry(new IPNetwork(Mask(destination, prefixLength), prefixLength), gateway, oif)
        {
            OnLink = (flags & Rtm.NextHopOnLink) != 0,
            Table = table,
            Protocol = header[5],
            Scope = header[6],
            Type = header[7],
            Metric = metric,
            PreferredSource = source,
        };
    }

    internal static bool IsCloned(in NetlinkMessage message) =>
        message.Payload.Length >= Rta.MessageLength && (HostOrder.ReadUInt32(message.Payload[8..]) & Rtm.FlagCloned) != 0;

    private static IPAddress Mask(IPAddress address, int prefixLength)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        bytes = bytes[..length];
        for (int bit = prefixLength; bit < length * 8; bit++) bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPAddress(bytes);
    }
}

/// <summary>What RTM_GETROUTE answers for a destination: the device, next hop and source the kernel would use.</summary>
public sealed record RouteLookup(IPAddress Destination, int InterfaceIndex, IPAddress? Gateway, IPAddress? PreferredSource, int Table);

public sealed partial class NetlinkHandle
{
    /// <summary>Routes of one table (main by default), optionally only those through one device or of one family.</summary>
    public IReadOnlyList<RouteEntry> ListRoutes(int table = Rtm.TableMain, int? interfaceIndex = null, AddressFamily? family = null)
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
            return Dump(
                Rtm.GetRoute,
                (ref NetlinkWriter w) => w.WriteFamilyHeader(Rta.MessageLength)[0] = wireFamily,
                (in NetlinkMessage m) =>
                {
                    if (RouteEntry.IsCloned(m)) return null;
                    RouteEntry? route = RouteEntry.Decode(m);
                    return route is not null && route.Table == table && (interfaceIndex is null || route.InterfaceIndex == interfaceIndex)
                        ? route
                        : null;
                },
                () => "list routes table " + table.ToString(CultureInfo.InvariantCulture));
        }
    }

    public void AddRoute(RouteEntry route) => Apply(ChangeOperation.Add, route);

    public void ReplaceRoute(RouteEntry route) => Apply(ChangeOperation.Replace, route);

    public void DeleteRoute(RouteEntry route) => Apply(ChangeOperation.Delete, route);

    /// <summary>Asks the kernel how it would route a packet to <paramref name="destination"/> (like `ip route get`).</summary>
    public RouteLookup LookupRoute(IPAddress destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        lock (_sync)
        {
            EnsureOpen();
            uint sequence = NextSequence();
            var writer = new NetlinkWriter(_request);
            writer.BeginMessage(Rtm.GetRoute, Nl.Request, sequence);
            Span<byte> header = writer.WriteFamilyHeader(Rta.MessageLength);
            header[0] = KernelEntry.Family(destination);
            header[1] = (byte)(header[0] == AddressFamilies.Inet ? 32 : 128);
            writer.WriteAddress(Rta.Dst, destination);
            writer.EndMessage();
            int error = Query(writer.Written, sequence, RouteEntry.Decode, out RouteEntry? route, out string? kernelMessage);
            if (error != 0) NetlinkException.Throw("get route to " + destination, error, kernelMessage);
            if (route is null) throw new NetlinkParseException("The kernel answered a route lookup with an unexpected message.");
            return new RouteLookup(destination, route.InterfaceIndex, route.Gateway, route.PreferredSource, route.Table);
        }
    }
}
