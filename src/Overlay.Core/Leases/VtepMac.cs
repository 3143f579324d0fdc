using System.Globalization;
using System.Net.NetworkInformation;

namespace Overlay.Core.Leases;

/// <summary>MAC addresses in the form flannel stores them: lower case, colon-separated.</summary>
public static class VtepMac
{
    public static string Format(ReadOnlySpan<byte> mac)
    {
        if (mac.Length != 6)
        {
            throw new ArgumentException($"a MAC address has 6 bytes, not {mac.Length}", nameof(mac));
        }

        return string.Create(17, mac.ToArray(), static (chars, bytes) =>
        {
            for (int i = 0; i < 6; i++)
            {
                bytes[i].TryFormat(chars[(i * 3)..], out _, "x2", CultureInfo.InvariantCulture);
                if (i < 5)
                {
                    chars[(i * 3) + 2] = ':';
                }
            }
        });
    }

    public static string Format(PhysicalAddress mac) => Format(mac.GetAddressBytes());

    /// <summary>Parses <c>xx:xx:xx:xx:xx:xx</c> (hex digits of either case); anything else is rejected.</summary>
    public static bool TryParse(string? text, out byte[] mac)
    {
        mac = [];
        if (text is null || text.Length != 17)
        {
            return false;
        }

        var bytes = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            if ((i < 5 && text[(i * 3) + 2] != ':')
                || !byte.TryParse(text.AsSpan(i * 3, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes[i]))
            {
                return false;
            }
        }

        mac = bytes;
        return true;
    }
}
