using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;

namespace Overlay.Core.Dns;

/// <summary>
/// Addresses written into domain names: the dashed label Kubernetes uses for pods and headless endpoints
/// (<c>198-51-100-7</c>, <c>2001-db8--5</c>) and the reverse names of PTR lookups (RFC 1035 3.5, RFC 3596 2.5).
/// </summary>
public static class AddressLabels
{
    public const string IPv4ReverseSuffix = "in-addr.arpa";

    public const string IPv6ReverseSuffix = "ip6.arpa";

    /// <summary>The address as one label: IPv4 with '-' for '.', IPv6 (in its short form) with '-' for ':'.</summary>
    public static string Dashed(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetwork
            ? address.ToString().Replace('.', '-')
            : address.ToString().Replace(':', '-');

    /// <summary>
    /// Reads a dashed label back: four decimal octets for IPv4 (no leading zeros), otherwise any IPv6 text form
    /// with '-' for ':'. Null when the label is not an address.
    /// </summary>
    public static IPAddress? ParseDashed(ReadOnlySpan<char> label)
    {
        if (label.Length == 0 || label.Length > 45 || label.ContainsAny('.', ':'))
        {
            return null;
        }

        Span<char> text = stackalloc char[label.Length];
        label.CopyTo(text);
        text.Replace('-', '.');
        if (IPAddressMath.TryParseDottedQuad(text, out IPAddress? v4))
        {
            return v4;
        }

        text.Replace('.', ':');
        return IPAddress.TryParse(text, out IPAddress? v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 && v6.ScopeId == 0
            ? v6
            : null;
    }

    /// <summary>The reverse name of an address: <c>7.100.51.198.in-addr.arpa</c>, or 32 nibbles under <c>ip6.arpa</c>.</summary>
    public static string ReverseName(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        var text = new System.Text.StringBuilder(length == 4 ? 29 : 72);
        for (int i = length - 1; i >= 0; i--)
        {
            if (length == 4)
            {
                text.Append(bytes[i].ToString(CultureInfo.InvariantCulture)).Append('.');
            }
            else
            {
                text.Append(Nibble(bytes[i] & 0xf)).Append('.').Append(Nibble(bytes[i] >> 4)).Append('.');
            }
        }

        return text.Append(length == 4 ? IPv4ReverseSuffix : IPv6ReverseSuffix).ToString();
    }

    private static char Nibble(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);

    /// <summary>A decimal 0–255 written the canonical way: 1–3 digits, no leading zero unless it is "0".</summary>
    internal static bool TryParseOctet(ReadOnlySpan<char> text, out byte octet)
    {
        octet = 0;
        if (text.Length is 0 or > 3 || (text.Length > 1 && text[0] == '0'))
        {
            return false;
        }

        int value = 0;
        foreach (char c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        if (value > 255)
        {
            return false;
        }

        octet = (byte)value;
        return true;
    }

    /// <summary>One lower-case hexadecimal digit, the label of an ip6.arpa name.</summary>
    internal static bool TryParseNibble(ReadOnlySpan<char> text, out int nibble)
    {
        nibble = 0;
        if (text.Length != 1)
        {
            return false;
        }

        char c = text[0];
        if (c is >= '0' and <= '9')
        {
            nibble = c - '0';
            return true;
        }

        if (c is >= 'a' and <= 'f')
        {
            nibble = c - 'a' + 10;
            return true;
        }

        return false;
    }
}
