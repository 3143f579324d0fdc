using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;

namespace Overlay.Core.Config;

/// <summary>
/// Checks of the service network against what only a node knows: its own addresses. The parser already
/// checks it against the pod network; overlayd runs <see cref="AgainstUnderlay"/> at start.
/// </summary>
public static class ServiceNetworkChecks
{
    private static readonly (IPNetwork Range, string Name)[] Special =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "0.0.0.0/8 (this network)"),
        (IPNetwork.Parse("127.0.0.0/8"), "127.0.0.0/8 (loopback)"),
        (IPNetwork.Parse("169.254.0.0/16"), "169.254.0.0/16 (link-local)"),
        (IPNetwork.Parse("224.0.0.0/4"), "224.0.0.0/4 (multicast)"),
        (IPNetwork.Parse("240.0.0.0/4"), "240.0.0.0/4 (reserved)"),
        (IPNetwork.Parse("::/8"), "::/8 (unspecified, loopback and IPv4-mapped)"),
        (IPNetwork.Parse("fe80::/10"), "fe80::/10 (link-local)"),
        (IPNetwork.Parse("ff00::/8"), "ff00::/8 (multicast)"),
    ];

    /// <summary>The special-purpose range <paramref name="network"/> overlaps, named, or null.</summary>
    public static string? SpecialRange(IPNetwork network)
    {
        foreach ((IPNetwork range, string name) in Special)
        {
            if (range.BaseAddress.AddressFamily == network.BaseAddress.AddressFamily && IPAddressMath.Overlaps(range, network))
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>
    /// Null when the service network(s) of <paramref name="config"/> overlap none of the node's addresses
    /// (each with its prefix length, as on its interface: 192.0.2.11/24; the on-link range counts, since a
    /// neighbour in the service network would be taken for a service); otherwise one message naming each
    /// clash, both ranges in each.
    /// </summary>
    public static string? AgainstUnderlay(NetworkConfig config, IEnumerable<(IPAddress Address, int PrefixLength)> nodeAddresses)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(nodeAddresses);
        var clashes = new List<string>();
        foreach ((IPAddress address, int prefixLength) in nodeAddresses)
        {
            bool v4 = address.AddressFamily == AddressFamily.InterNetwork;
            if ((v4 ? config.ServiceNetwork : config.ServiceIPv6Network) is not { } range)
            {
                continue;
            }

            var onLink = new IPNetwork(IPAddressMath.MaskedAddress(address, prefixLength), prefixLength);
            if (IPAddressMath.Overlaps(range, onLink))
            {
                string where = prefixLength == IPAddressMath.BitLength(address.AddressFamily) ? "" : $" (on-link range {onLink})";
                clashes.Add($"{(v4 ? "ServiceNetwork" : "ServiceIPv6Network")} {range} overlaps this node's address {address}/{prefixLength}{where}");
            }
        }

        return clashes.Count == 0
            ? null
            : string.Join("; ", clashes) + ": the service network must be apart from the nodes' own networks; change it in the network config with 'overlayctl config set'";
    }

    /// <summary>As the other overload, for the node's networks (an <see cref="IPNetwork"/> keeps no host bits, so the network is named).</summary>
    public static string? AgainstUnderlay(NetworkConfig config, IEnumerable<IPNetwork> nodeNetworks)
    {
        ArgumentNullException.ThrowIfNull(nodeNetworks);
        return AgainstUnderlay(config, nodeNetworks.Select(n => (n.BaseAddress, n.PrefixLength)));
    }

    /// <summary>True when <paramref name="address"/> is in the service network of its family.</summary>
    public static bool InServiceNetwork(NetworkConfig config, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(address);
        IPNetwork? range = address.AddressFamily == AddressFamily.InterNetwork ? config.ServiceNetwork : config.ServiceIPv6Network;
        return range is { } r && r.Contains(address);
    }
}
