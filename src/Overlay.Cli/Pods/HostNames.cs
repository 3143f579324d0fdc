using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Overlay.Cli.Pods;

/// <summary>The address and name rules shared by the DNS, hosts and pod-name checks.</summary>
internal static class HostNames
{
    /// <summary>
    /// An IPv4 address in dotted-decimal form only (IPAddress.Parse would read "010" as octal 8, or "10.1" as
    /// 10.0.0.1), or any IPv6 spelling.
    /// </summary>
    public static bool TryParseAddress(string text, [NotNullWhen(true)] out IPAddress? address)
    {
        if (!IPAddress.TryParse(text, out address))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork && address.ToString() != text)
        {
            address = null;
            return false;
        }

        return true;
    }

    public static bool IsDnsSubdomain(string name)
    {
        if (name.Length is 0 or > 253)
        {
            return false;
        }

        foreach (string label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            if (!label.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }
}
