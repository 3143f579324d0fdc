using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Text;
using Overlay.Core.Addressing;
using Overlay.Core.Leases;

namespace Overlay.Cli.Commands;

/// <summary>
/// A SUBNET argument: <c>198.18.34.0/24</c>, the key form <c>198.18.34.0-24</c>, or the dual-stack key form
/// <c>198.18.34.0-24&amp;2001:db8:0:22::-64</c> (either half may also use '/'). Without an IPv6 half it
/// names whichever lease holds the IPv4 subnet.
/// </summary>
internal readonly record struct SubnetArgument(SubnetKey Key, bool HasIPv6)
{
    private const string Forms = "give it as 198.18.34.0/24, 198.18.34.0-24 or 198.18.34.0-24&2001:db8:0:22::-64";

    public static SubnetArgument Parse(string text)
    {
        string[] parts = text.Split('&');
        if (parts.Length > 2)
        {
            throw Bad(text, "it has more than one '&'");
        }

        IPNetwork v4 = ParsePart(text, parts[0], AddressFamily.InterNetwork);
        IPNetwork? v6 = parts.Length == 2 ? ParsePart(text, parts[1], AddressFamily.InterNetworkV6) : null;
        return new SubnetArgument(new SubnetKey(v4, v6), v6 is not null);
    }

    public bool Matches(SubnetKey key) => HasIPv6 ? key == Key : key.IPv4 == Key.IPv4;

    public override string ToString() => HasIPv6 ? $"{Key.IPv4}&{Key.IPv6}" : Key.IPv4.ToString();

    private static IPNetwork ParsePart(string text, string part, AddressFamily family)
    {
        string familyName = family == AddressFamily.InterNetwork ? "IPv4" : "IPv6";
        int separator = part.LastIndexOfAny(['/', '-']);
        if (separator <= 0)
        {
            throw Bad(text, $"'{part}' has no prefix length");
        }

        string addressText = part[..separator];
        string lengthText = part[(separator + 1)..];
        if (!IPAddressMath.TryParseAddress(addressText, out IPAddress? address) || address.AddressFamily != family)
        {
            throw Bad(text, $"'{addressText}' is not an {familyName} address{(family == AddressFamily.InterNetwork ? " (the first half is always IPv4)" : "")}");
        }

        int bits = IPAddressMath.BitLength(family);
        if (!DecimalText.TryParse(lengthText, out int length) || length > bits)
        {
            throw Bad(text, $"'{lengthText}' is not a prefix length (0..{bits})");
        }

        if (!IPAddressMath.IsNetworkAddress(address, length))
        {
            throw Bad(text, $"{address}/{length} has host bits set; the subnet is {IPAddressMath.MaskedAddress(address, length)}/{length}");
        }

        return new IPNetwork(address, length);
    }

    private static UsageException Bad(string text, string why) => new($"SUBNET '{text}' is not a subnet: {why}; {Forms}");
}
