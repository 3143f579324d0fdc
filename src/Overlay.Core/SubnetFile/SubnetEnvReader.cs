using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;
using Overlay.Core.Leases;

namespace Overlay.Core.SubnetFile;

/// <summary>
/// Reads subnet.env back, tolerantly: blank lines, <c>#</c> comments, <c>export</c>, surrounding white space
/// and single or double quotes are all accepted, since an admin may have edited the file.
/// </summary>
public static class SubnetEnvReader
{
    public static IReadOnlyDictionary<string, string> Parse(string text)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string rawLine in text.Split('\n'))
        {
            string line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal) || line.StartsWith("export\t", StringComparison.Ordinal))
            {
                line = line[7..].TrimStart();
            }

            int equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            string key = line[..equals].Trim();
            string value = line[(equals + 1)..].Trim();
            if (value.Length >= 2 && (value[0] == '"' || value[0] == '\'') && value[^1] == value[0])
            {
                value = value[1..^1];
            }

            values[key] = value;
        }

        return values;
    }

    /// <summary>
    /// The subnet this node held when it last wrote the file (FLANNEL_SUBNET and, if present,
    /// FLANNEL_IPV6_SUBNET, with their host part masked off), or null when there is none or it is unreadable.
    /// </summary>
    public static SubnetKey? PreviousSubnet(IReadOnlyDictionary<string, string> values)
    {
        if (!values.TryGetValue(SubnetEnv.SubnetKeyName, out string? v4Text) || !TryParseHostCidr(v4Text, AddressFamily.InterNetwork, out IPNetwork v4))
        {
            return null;
        }

        IPNetwork? v6 = null;
        if (values.TryGetValue(SubnetEnv.IPv6SubnetKey, out string? v6Text))
        {
            if (!TryParseHostCidr(v6Text, AddressFamily.InterNetworkV6, out IPNetwork parsed))
            {
                return null;
            }

            v6 = parsed;
        }

        return new SubnetKey(v4, v6);
    }

    /// <summary>Reads the previous subnet from a file; a missing or unreadable file gives null.</summary>
    public static SubnetKey? PreviousSubnetFromFile(string path) => PreviousSubnetFromFile(path, out _);

    /// <summary>
    /// Reads the previous subnet from a file. A missing file gives null and no problem; one that cannot be read or
    /// holds no usable FLANNEL_SUBNET (a crash mid-edit, a disk error, someone's hand) gives null and says why, so
    /// the caller can warn and choose a subnet afresh.
    /// </summary>
    public static SubnetKey? PreviousSubnetFromFile(string path, out string? problem)
    {
        problem = null;
        string text;
        try
        {
            if (!File.Exists(path))
            {
                return null;
            }

            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"it cannot be read ({e.Message})";
            return null;
        }

        IReadOnlyDictionary<string, string> values = Parse(text);
        SubnetKey? previous = PreviousSubnet(values);
        if (previous is null)
        {
            problem = values.TryGetValue(SubnetEnv.SubnetKeyName, out string? v4)
                ? $"its {SubnetEnv.SubnetKeyName} or {SubnetEnv.IPv6SubnetKey} is not an IP address/length ({SubnetEnv.SubnetKeyName}={v4})"
                : $"it has no {SubnetEnv.SubnetKeyName} line";
        }

        return previous;
    }

    private static bool TryParseHostCidr(string text, AddressFamily family, out IPNetwork network)
    {
        network = default;
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0
            || !IPAddressMath.TryParseAddress(text[..slash], out IPAddress? address)
            || address.AddressFamily != family
            || !Text.DecimalText.TryParse(text.AsSpan(slash + 1), out int length)
            || length > IPAddressMath.BitLength(family))
        {
            return false;
        }

        network = new IPNetwork(IPAddressMath.MaskedAddress(address, length), length);
        return true;
    }
}
