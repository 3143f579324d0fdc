using System.Net;
using System.Net.Sockets;

namespace Overlay.Core.Addressing;

/// <summary>
/// Integer arithmetic over IPv4 and IPv6 addresses and prefixes. Both families are mapped onto
/// <see cref="UInt128"/> so one implementation serves both; <see cref="IPNetwork"/> stays the public type.
/// </summary>
public static class IPAddressMath
{
    public static int BitLength(AddressFamily family) => family == AddressFamily.InterNetwork ? 32 : 128;

    public static UInt128 ToUInt128(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out int written))
        {
            throw new ArgumentException($"cannot read address {address}", nameof(address));
        }

        UInt128 value = 0;
        for (int i = 0; i < written; i++)
        {
            value = (value << 8) | bytes[i];
        }

        return value;
    }

    public static IPAddress FromUInt128(UInt128 value, AddressFamily family)
    {
        int length = family == AddressFamily.InterNetwork ? 4 : 16;
        Span<byte> bytes = stackalloc byte[length];
        for (int i = length - 1; i >= 0; i--)
        {
            bytes[i] = (byte)(value & 0xff);
            value >>= 8;
        }

        return new IPAddress(bytes);
    }

    /// <summary>The number of addresses in a prefix of <paramref name="prefixLength"/> bits, as a step between subnets.</summary>
    public static UInt128 BlockSize(AddressFamily family, int prefixLength)
    {
        int hostBits = BitLength(family) - prefixLength;
        return hostBits >= 128 ? UInt128.MaxValue : UInt128.One << hostBits;
    }

    /// <summary>The host bits of a prefix: all ones below the prefix length.</summary>
    public static UInt128 HostMask(AddressFamily family, int prefixLength)
    {
        int hostBits = BitLength(family) - prefixLength;
        return hostBits >= 128 ? UInt128.MaxValue : (UInt128.One << hostBits) - 1;
    }

    public static UInt128 First(IPNetwork network) => ToUInt128(network.BaseAddress);

    public static UInt128 Last(IPNetwork network) =>
        First(network) | HostMask(network.BaseAddress.AddressFamily, network.PrefixLength);

    /// <summary>True when the address has no bits set beyond the prefix length.</summary>
    public static bool IsNetworkAddress(IPAddress address, int prefixLength)
    {
        return (ToUInt128(address) & HostMask(address.AddressFamily, prefixLength)) == 0;
    }

    public static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.BaseAddress.AddressFamily == b.BaseAddress.AddressFamily && First(a) <= Last(b) && First(b) <= Last(a);

    /// <summary>True when <paramref name="inner"/> lies entirely inside <paramref name="outer"/>.</summary>
    public static bool Covers(IPNetwork outer, IPNetwork inner) =>
        outer.BaseAddress.AddressFamily == inner.BaseAddress.AddressFamily
        && inner.PrefixLength >= outer.PrefixLength
        && outer.Contains(inner.BaseAddress);

    /// <summary>The address <paramref name="offset"/> places after the network address.</summary>
    public static IPAddress Offset(IPNetwork network, UInt128 offset) =>
        FromUInt128(First(network) + offset, network.BaseAddress.AddressFamily);

    public static IPNetwork Network(UInt128 first, AddressFamily family, int prefixLength) =>
        new(FromUInt128(first, family), prefixLength);

    /// <summary>
    /// Parses <c>address/length</c> strictly: a host part with bits set is an error rather than being
    /// masked away silently, as <see cref="IPNetwork.Parse(string)"/> does.
    /// </summary>
    public static bool TryParseNetwork(string? text, out IPNetwork network, out string error)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "it is empty";
            return false;
        }

        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            error = "it has no prefix length (expected address/length, e.g. 198.18.0.0/16)";
            return false;
        }

        string addressText = text[..slash];
        if (!TryParseAddress(addressText, out IPAddress? address))
        {
            error = $"'{addressText}' is not an IP address";
            return false;
        }

        string lengthText = text[(slash + 1)..];
        int bits = BitLength(address.AddressFamily);
        if (!Text.DecimalText.TryParse(lengthText, out int length)
            || length > bits)
        {
            error = $"'{lengthText}' is not a prefix length (0..{bits})";
            return false;
        }

        if (!IsNetworkAddress(address, length))
        {
            var masked = new IPNetwork(MaskedAddress(address, length), length);
            error = $"it has host bits set; the network address is {masked}";
            return false;
        }

        network = new IPNetwork(address, length);
        error = "";
        return true;
    }

    /// <summary>
    /// Parses an address, accepting only a plain dotted quad for IPv4 (the runtime also takes "1.2.3"
    /// and octal octets, which no etcd value or flag of flannel's means).
    /// </summary>
    public static bool TryParseAddress(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        if (text.Contains(':', StringComparison.Ordinal))
        {
            return IPAddress.TryParse(text, out address) && address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId == 0;
        }

        return TryParseDottedQuad(text, out address);
    }

    public static bool TryParseDottedQuad(ReadOnlySpan<char> text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        Span<byte> octets = stackalloc byte[4];
        int octet = 0;
        int value = 0;
        int digits = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] == '.')
            {
                if (digits == 0 || octet > 3)
                {
                    return false;
                }

                octets[octet++] = (byte)value;
                value = 0;
                digits = 0;
                continue;
            }

            char c = text[i];
            if (c is < '0' or > '9' || (digits == 1 && value == 0))
            {
                return false; // not a digit, or a leading zero
            }

            value = (value * 10) + (c - '0');
            if (++digits > 3 || value > 255)
            {
                return false;
            }
        }

        if (octet != 4)
        {
            return false;
        }

        address = new IPAddress(octets);
        return true;
    }

    public static IPAddress MaskedAddress(IPAddress address, int prefixLength)
    {
        return FromUInt128(ToUInt128(address) & ~HostMask(address.AddressFamily, prefixLength), address.AddressFamily);
    }
}
