using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Overlay.Daemon.Underlay;

/// <summary>A host interface as the selection sees it.</summary>
public sealed record UnderlayInterface(int Index, string Name, int Mtu, bool IsUp, bool IsLoopback, IReadOnlyList<IPAddress> Addresses)
{
    public IPAddress? FirstIPv4 => Addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork);
}

/// <summary>What the kernel's route lookup said for a destination.</summary>
public sealed record UnderlayRoute(int InterfaceIndex, IPAddress? Source);

/// <summary>The interface VXLAN traffic leaves by, the VTEP's local address, and the address other nodes reach us at.</summary>
public sealed record UnderlayChoice(UnderlayInterface Interface, IPAddress LocalAddress, IPAddress PublicIP, string Reason);

/// <summary>The inputs that steer the choice, as flannel's flags give them.</summary>
public sealed record UnderlayRequest(
    IReadOnlyList<string> Iface,
    IReadOnlyList<string> IfaceRegex,
    IPAddress? IfaceCanReach,
    IPAddress? PublicIP);

/// <summary>
/// Chooses the underlay interface exactly in flannel's order: each <c>--iface</c> (a name or an address) in
/// turn, then each <c>--iface-regex</c> (matched against addresses, then names), then <c>--iface-can-reach</c>
/// (the kernel's route lookup), else the interface of the default route. Pure: the caller brings the
/// interface list and the route lookups.
/// </summary>
public static class UnderlaySelection
{
    public static UnderlayChoice Choose(
        UnderlayRequest request,
        IReadOnlyList<UnderlayInterface> interfaces,
        Func<IPAddress, UnderlayRoute?> lookupRoute,
        int? defaultRouteInterfaceIndex)
    {
        if (request.Iface.Count > 0)
        {
            foreach (string wanted in request.Iface)
            {
                if (IPAddress.TryParse(wanted, out IPAddress? address))
                {
                    if (interfaces.FirstOrDefault(i => i.Addresses.Contains(address)) is { } owner)
                    {
                        return Result(owner, address, request, $"--iface {wanted} is an address of {owner.Name}");
                    }
                }
                else if (interfaces.FirstOrDefault(i => i.Name == wanted) is { } named)
                {
                    return Result(named, LocalOf(named, $"--iface {wanted}"), request, $"--iface {wanted}");
                }
            }

            throw new UnderlayException($"none of the interfaces given with --iface ({string.Join(", ", request.Iface)}) exists on this node; interfaces here: {Names(interfaces)}");
        }

        if (request.IfaceRegex.Count > 0)
        {
            foreach (string pattern in request.IfaceRegex)
            {
                var regex = new Regex(pattern, RegexOptions.None, TimeSpan.FromSeconds(1));
                foreach (UnderlayInterface candidate in interfaces.Where(i => !i.IsLoopback))
                {
                    if (candidate.Addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && regex.IsMatch(a.ToString())) is { } matched)
                    {
                        return Result(candidate, matched, request, $"--iface-regex {pattern} matches address {matched}");
                    }
                }

                foreach (UnderlayInterface candidate in interfaces.Where(i => !i.IsLoopback))
                {
                    if (regex.IsMatch(candidate.Name))
                    {
                        return Result(candidate, LocalOf(candidate, $"--iface-regex {pattern}"), request, $"--iface-regex {pattern} matches {candidate.Name}");
                    }
                }
            }

            throw new UnderlayException($"no interface name or address matches --iface-regex {string.Join(", ", request.IfaceRegex)}; interfaces here: {Names(interfaces)}");
        }

        if (request.IfaceCanReach is { } target)
        {
            UnderlayRoute route = lookupRoute(target)
                ?? throw new UnderlayException($"--iface-can-reach {target}: the kernel has no route to it; add one or choose the interface with --iface");
            UnderlayInterface found = interfaces.FirstOrDefault(i => i.Index == route.InterfaceIndex)
                ?? throw new UnderlayException($"--iface-can-reach {target}: the route leaves by interface index {route.InterfaceIndex}, which is gone");
            IPAddress local = route.Source is { AddressFamily: AddressFamily.InterNetwork } source ? source : LocalOf(found, $"--iface-can-reach {target}");
            return Result(found, local, request, $"--iface-can-reach {target} routes via {found.Name}");
        }

        if (defaultRouteInterfaceIndex is { } index && interfaces.FirstOrDefault(i => i.Index == index) is { } defaultInterface)
        {
            return Result(defaultInterface, LocalOf(defaultInterface, "the default route's interface"), request, $"{defaultInterface.Name} holds the default route");
        }

        throw new UnderlayException("this node has no default route, so overlayd cannot tell which interface carries node-to-node traffic; add a default route or pass --iface, --iface-regex or --iface-can-reach");
    }

    /// <summary>
    /// This node's IPv6 VXLAN endpoint in a dual-stack network, as flannel picks it: <c>--public-ipv6</c> when given,
    /// else the chosen interface's first global IPv6 address (not link-local, loopback or multicast). It is both the
    /// flannel-v6 device's local address and the lease's PublicIPv6.
    /// </summary>
    public static (IPAddress Address, string Reason) ChooseIPv6(UnderlayInterface chosen, IPAddress? publicIPv6)
    {
        if (publicIPv6 is not null)
        {
            return (publicIPv6, "--public-ipv6");
        }

        IPAddress? global = chosen.Addresses.FirstOrDefault(a =>
            a.AddressFamily == AddressFamily.InterNetworkV6
            && !a.IsIPv6LinkLocal
            && !a.IsIPv6Multicast
            && !a.IsIPv4MappedToIPv6
            && !IPAddress.IsLoopback(a)
            && !a.Equals(IPAddress.IPv6Any));
        return global is not null
            ? (global, $"the first global IPv6 address of {chosen.Name}")
            : throw new UnderlayException(
                $"the network config enables IPv6 (EnableIPv6), but the underlay interface {chosen.Name} has no global IPv6 address for the flannel-v6 device; " +
                $"give {chosen.Name} one, or pass this node's IPv6 address with --public-ipv6 (or FLANNELD_PUBLIC_IPV6)");
    }

    private static UnderlayChoice Result(UnderlayInterface chosen, IPAddress local, UnderlayRequest request, string reason) =>
        new(chosen, local, request.PublicIP ?? local, reason);

    private static IPAddress LocalOf(UnderlayInterface chosen, string how) =>
        chosen.FirstIPv4 ?? throw new UnderlayException($"{how} chose {chosen.Name}, which has no IPv4 address; give it one or choose another interface");

    private static string Names(IReadOnlyList<UnderlayInterface> interfaces) =>
        interfaces.Count == 0 ? "(none)" : string.Join(", ", interfaces.Select(i => i.Name));
}

public sealed class UnderlayException : Exception
{
    public UnderlayException(string message)
        : base(message)
    {
    }

    public UnderlayException()
    {
    }

    public UnderlayException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
