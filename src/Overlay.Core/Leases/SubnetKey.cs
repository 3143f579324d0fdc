using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;
using Overlay.Core.Text;

namespace Overlay.Core.Leases;

/// <summary>
/// The subnet part of a lease's etcd key, in flannel's format: <c>198.18.34.0-24</c>, or for dual stack
/// <c>198.18.34.0-24&amp;2001:db8:0:22::-64</c> (IPv6 compressed, lower case).
/// </summary>
public readonly record struct SubnetKey(IPNetwork IPv4, IPNetwork? IPv6)
{
    public const string SubnetsFolder = "subnets";

    /// <summary>Between the IPv4 and the IPv6 part of a dual-stack key.</summary>
    public const char DualStackSeparator = '&';

    public SubnetKey(IPNetwork ipv4)
        : this(ipv4, null)
    {
    }

    public override string ToString()
    {
        string v4 = $"{IPv4.BaseAddress}-{IPv4.PrefixLength.ToString(CultureInfo.InvariantCulture)}";
        return IPv6 is { } v6 ? $"{v4}&{v6.BaseAddress}-{v6.PrefixLength.ToString(CultureInfo.InvariantCulture)}" : v4;
    }

    /// <summary>The full etcd key under <paramref name="prefix"/>, e.g. <c>/coreos.com/network/subnets/198.18.34.0-24</c>.</summary>
    public string ToEtcdKey(string prefix) => $"{SubnetsPrefix(prefix)}{this}";

    /// <summary>
    /// Where etcd keeps every lease key that holds this key's IPv4 subnet: the IPv4-only key, and the key range of
    /// every dual-stack key that starts with it (<c>198.18.99.0-24&amp;…</c>). Creating a lease must find both empty;
    /// the key alone is not enough, as <c>198.18.99.0-24&amp;2001:db8:0:4f::-64</c> and <c>…&amp;2001:db8:0:13::-64</c>
    /// are two keys for one IPv4 subnet.
    /// </summary>
    public IPv4HolderKeys IPv4Holders(string prefix)
    {
        string ipv4Only = new SubnetKey(IPv4).ToEtcdKey(prefix);
        return new IPv4HolderKeys(ipv4Only, ipv4Only + DualStackSeparator, ipv4Only + (char)(DualStackSeparator + 1));
    }

    /// <summary>The folder all lease keys live under, with a trailing slash.</summary>
    public static string SubnetsPrefix(string prefix) => $"{prefix.TrimEnd('/')}/{SubnetsFolder}/";

    public static SubnetKey Parse(string text) =>
        TryParse(text, out SubnetKey key, out string reason)
            ? key
            : throw new FormatException($"'{text}' is not a subnet key: {reason}");

    /// <summary>Parses a full etcd key under <paramref name="prefix"/>.</summary>
    public static bool TryParseEtcdKey(string prefix, string etcdKey, out SubnetKey key, out string reason)
    {
        string folder = SubnetsPrefix(prefix);
        if (!etcdKey.StartsWith(folder, StringComparison.Ordinal))
        {
            key = default;
            reason = $"it is not under {folder}";
            return false;
        }

        return TryParse(etcdKey[folder.Length..], out key, out reason);
    }

    public static bool TryParse(string? text, out SubnetKey key, out string reason)
    {
        key = default;
        if (string.IsNullOrEmpty(text))
        {
            reason = "it is empty; expected <ipv4>-<length>, e.g. 198.18.34.0-24";
            return false;
        }

        string[] parts = text.Split('&');
        if (parts.Length > 2)
        {
            reason = "it has more than one '&'; expected <ipv4>-<length>[&<ipv6>-<length>]";
            return false;
        }

        if (!TryParsePart(parts[0], AddressFamily.InterNetwork, out IPNetwork v4, out reason))
        {
            return false;
        }

        IPNetwork? v6 = null;
        if (parts.Length == 2)
        {
            if (!TryParsePart(parts[1], AddressFamily.InterNetworkV6, out IPNetwork parsed, out reason))
            {
                return false;
            }

            v6 = parsed;
        }

        key = new SubnetKey(v4, v6);
        reason = "";
        return true;
    }

    private static bool TryParsePart(string part, AddressFamily family, out IPNetwork network, out string reason)
    {
        network = default;
        string familyName = family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";
        int dash = part.LastIndexOf('-');
        if (dash <= 0)
        {
            reason = $"'{part}' has no '-<length>'; expected <{familyName}>-<length>, e.g. {(family == AddressFamily.InterNetwork ? "198.18.34.0-24" : "2001:db8:0:22::-64")}";
            return false;
        }

        string addressText = part[..dash];
        string lengthText = part[(dash + 1)..];
        bool parsed = family == AddressFamily.InterNetwork
            ? IPAddressMath.TryParseDottedQuad(addressText, out IPAddress? address)
            : IPAddressMath.TryParseAddress(addressText, out address) && address.AddressFamily == AddressFamily.InterNetworkV6;
        if (!parsed || address is null)
        {
            reason = $"'{addressText}' is not an {familyName} address";
            return false;
        }

        if (family == AddressFamily.InterNetworkV6 && !string.Equals(address.ToString(), addressText, StringComparison.Ordinal))
        {
            reason = $"'{addressText}' is not in compressed lower-case form ({address})";
            return false;
        }

        int bits = IPAddressMath.BitLength(family);
        if (lengthText.Length is 0 or > 3
            || !DecimalText.TryParse(lengthText, out int length)
            || length > bits
            || (lengthText.Length > 1 && lengthText[0] == '0'))
        {
            reason = $"'{lengthText}' is not a prefix length (0..{bits})";
            return false;
        }

        if (!IPAddressMath.IsNetworkAddress(address, length))
        {
            reason = $"{address}/{length} has host bits set (the network address is {IPAddressMath.MaskedAddress(address, length)})";
            return false;
        }

        network = new IPNetwork(address, length);
        reason = "";
        return true;
    }
}

/// <summary>
/// The etcd keys that can hold one IPv4 subnet: <see cref="IPv4Only"/> (<c>…/198.18.99.0-24</c>) and the range
/// [<see cref="DualStackFrom"/>, <see cref="DualStackTo"/>) of the dual-stack keys (<c>…/198.18.99.0-24&amp;</c> up to
/// <c>…/198.18.99.0-24'</c>, the byte after '&amp;'). etcd orders keys by their bytes, so the range holds exactly the keys
/// that continue with '&amp;': never <c>…/198.18.99.0-240</c> nor <c>…/198.18.9.0-24…</c>.
/// </summary>
public readonly record struct IPv4HolderKeys(string IPv4Only, string DualStackFrom, string DualStackTo)
{
    /// <summary>True when etcd's range compare over these keys would include <paramref name="etcdKey"/> (ordinal = etcd's byte order for ASCII keys).</summary>
    public bool Includes(string etcdKey) =>
        string.Equals(etcdKey, IPv4Only, StringComparison.Ordinal)
        || (string.CompareOrdinal(etcdKey, DualStackFrom) >= 0 && string.CompareOrdinal(etcdKey, DualStackTo) < 0);
}
