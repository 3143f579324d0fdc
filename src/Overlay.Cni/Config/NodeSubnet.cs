using System.Net;
using System.Net.Sockets;
using Overlay.Cni.Protocol;
using Overlay.Core.Addressing;
using Overlay.Core.SubnetFile;
using Overlay.Core.Text;

namespace Overlay.Cni.Config;

/// <summary>
/// What subnet.env tells the plugin about this node: the cluster network, the node's pod subnet (FLANNEL_SUBNET
/// with its host part masked off), the MTU and whether overlayd masquerades (then the bridge must not).
/// </summary>
public sealed record NodeSubnet(IPNetwork Network, IPNetwork Subnet, int Mtu, bool IpMasq)
{
    public IPNetwork? IPv6Network { get; init; }

    public IPNetwork? IPv6Subnet { get; init; }

    /// <summary>Reads subnet.env; a missing file is a transient condition (overlayd has not written it yet).</summary>
    public static NodeSubnet Read(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CniException(CniErrorCode.TryAgainLater,
                $"subnet file {path} does not exist: overlayd (or flanneld) has not written it yet", e.Message);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IOFailure, $"cannot read subnet file {path}: {e.Message}");
        }

        return Parse(path, text);
    }

    /// <summary>Checks the values flannel's plugin needs; errors name the file and the key.</summary>
    public static NodeSubnet Parse(string path, string text)
    {
        IReadOnlyDictionary<string, string> values = SubnetEnvReader.Parse(text);

        IPNetwork network = Cidr(path, values, SubnetEnv.NetworkKey, AddressFamily.InterNetwork);
        IPNetwork subnet = Cidr(path, values, SubnetEnv.SubnetKeyName, AddressFamily.InterNetwork);
        string mtuText = Value(path, values, SubnetEnv.MtuKey);
        if (!DecimalText.TryParse(mtuText, out int mtu) || mtu is < 68 or > 65535)
        {
            throw Invalid(path, SubnetEnv.MtuKey, mtuText, "an MTU (68..65535)");
        }

        string ipMasqText = Value(path, values, SubnetEnv.IpMasqKey);
        if (!FlagValues.TryParseBoolean(ipMasqText, out bool ipMasq))
        {
            throw Invalid(path, SubnetEnv.IpMasqKey, ipMasqText, "true or false");
        }

        // IPv6 comes as a pair: one key without the other is a damaged file, not an IPv4-only node.
        IPNetwork? v6Network = null;
        IPNetwork? v6Subnet = null;
        if (values.ContainsKey(SubnetEnv.IPv6NetworkKey) || values.ContainsKey(SubnetEnv.IPv6SubnetKey))
        {
            v6Network = Cidr(path, values, SubnetEnv.IPv6NetworkKey, AddressFamily.InterNetworkV6);
            v6Subnet = Cidr(path, values, SubnetEnv.IPv6SubnetKey, AddressFamily.InterNetworkV6);
        }

        return new NodeSubnet(network, subnet, mtu, ipMasq) { IPv6Network = v6Network, IPv6Subnet = v6Subnet };
    }

    private static string Value(string path, IReadOnlyDictionary<string, string> values, string key) =>
        values.TryGetValue(key, out string? value) && value.Length > 0
            ? value
            : throw new CniException(CniErrorCode.InvalidSubnetFile, $"subnet file {path} has no {key}");

    /// <summary>address/length with any host part masked off (FLANNEL_SUBNET holds the gateway, .1).</summary>
    private static IPNetwork Cidr(string path, IReadOnlyDictionary<string, string> values, string key, AddressFamily family)
    {
        string text = Value(path, values, key);
        int slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0
            || !IPAddressMath.TryParseAddress(text[..slash], out IPAddress? address)
            || address.AddressFamily != family
            || !DecimalText.TryParse(text.AsSpan(slash + 1), out int length)
            || length > IPAddressMath.BitLength(family))
        {
            throw Invalid(path, key, text, family == AddressFamily.InterNetwork ? "an IPv4 address/length" : "an IPv6 address/length");
        }

        return new IPNetwork(IPAddressMath.MaskedAddress(address, length), length);
    }

    private static CniException Invalid(string path, string key, string value, string expected) =>
        new(CniErrorCode.InvalidSubnetFile, $"subnet file {path} has an invalid {key} '{value}': expected {expected}");
}
