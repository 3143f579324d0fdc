using System.Globalization;
using System.Net;
using System.Text;
using Overlay.Core.Addressing;
using Overlay.Core.Leases;

namespace Overlay.Core.SubnetFile;

/// <summary>
/// The content of subnet.env, the file the container runtime's CNI plugin reads. <see cref="Render"/>
/// produces flannel's exact bytes: bare KEY=VALUE lines in flannel's order.
/// </summary>
public sealed record SubnetEnv(IPNetwork Network, SubnetKey Lease, IPNetwork? IPv6Network, int Mtu, bool IpMasq)
{
    public const string DefaultPath = "/run/flannel/subnet.env";

    public const string NetworkKey = "FLANNEL_NETWORK";
    public const string SubnetKeyName = "FLANNEL_SUBNET";
    public const string IPv6NetworkKey = "FLANNEL_IPV6_NETWORK";
    public const string IPv6SubnetKey = "FLANNEL_IPV6_SUBNET";
    public const string MtuKey = "FLANNEL_MTU";
    public const string IpMasqKey = "FLANNEL_IPMASQ";

    public string Render()
    {
        var text = new StringBuilder(192);
        Line(text, NetworkKey, Network.ToString());
        Line(text, SubnetKeyName, GatewayCidr(Lease.IPv4));
        if (IPv6Network is { } v6Network && Lease.IPv6 is { } v6Lease)
        {
            Line(text, IPv6NetworkKey, v6Network.ToString());
            Line(text, IPv6SubnetKey, GatewayCidr(v6Lease));
        }

        Line(text, MtuKey, Mtu.ToString(CultureInfo.InvariantCulture));
        Line(text, IpMasqKey, IpMasq ? "true" : "false");
        return text.ToString();
    }

    /// <summary>The lease's network address + 1 with the lease's prefix length, as FLANNEL_SUBNET has it.</summary>
    public static string GatewayCidr(IPNetwork lease) =>
        $"{IPAddressMath.Offset(lease, 1)}/{lease.PrefixLength.ToString(CultureInfo.InvariantCulture)}";

    private static void Line(StringBuilder text, string key, string value) => text.Append(key).Append('=').Append(value).Append('\n');
}
