using System.Net;

namespace Overlay.Core.Config;

/// <summary>
/// The cluster's network configuration as stored at <c>&lt;prefix&gt;/config</c>, with flannel's defaults
/// resolved. Build it with <see cref="NetworkConfigParser.Parse(string)"/>.
/// </summary>
public sealed record NetworkConfig
{
    public required IPNetwork Network { get; init; }

    public required int SubnetLen { get; init; }

    /// <summary>Network address of the first subnet that may be leased.</summary>
    public required IPAddress SubnetMin { get; init; }

    /// <summary>Network address of the last subnet that may be leased.</summary>
    public required IPAddress SubnetMax { get; init; }

    public IPv6NetworkConfig? IPv6 { get; init; }

    public required BackendConfig Backend { get; init; }

    /// <summary>
    /// The IPv4 service network ClusterIPs come from (see docs/services.md); null when the cluster has no
    /// services. flanneld ignores it.
    /// </summary>
    public IPNetwork? ServiceNetwork { get; init; }

    /// <summary>The IPv6 service network of a dual-stack cluster; null otherwise. Allowed only with EnableIPv6.</summary>
    public IPNetwork? ServiceIPv6Network { get; init; }

    /// <summary>The cluster's DNS domain, lower case, without a trailing dot.</summary>
    public string ClusterDomain { get; init; } = DefaultClusterDomain;

    public const string DefaultClusterDomain = "cluster.local";

    /// <summary>
    /// The cluster DNS service's address as the config names it (<c>ClusterDNS</c>); null: <c>.10</c> of the service
    /// network. See <see cref="ClusterDnsAddress"/>.
    /// </summary>
    public IPAddress? ClusterDns { get; init; }

    /// <summary>The address pods' resolv.conf names and every node answers DNS at; null without a service network.</summary>
    public IPAddress? ClusterDnsAddress =>
        ClusterDns ?? (ServiceNetwork is { } network ? new Services.ClusterIPAllocator(network).DnsAddress : null);

    public bool EnableIPv6 => IPv6 is not null;
}

/// <summary>The IPv6 half of a dual-stack network.</summary>
public sealed record IPv6NetworkConfig(IPNetwork Network, int SubnetLen, IPAddress SubnetMin, IPAddress SubnetMax);

/// <summary>The vxlan backend's settings. Overlay serves only the vxlan backend.</summary>
public sealed record BackendConfig
{
    public const string VxlanType = "vxlan";

    /// <summary>The kernel's vxlan port when <see cref="Port"/> is 0 (Linux's historic default, as flannel uses).</summary>
    public const int KernelDefaultPort = 8472;

    public string Type { get; init; } = VxlanType;

    public int Vni { get; init; } = 1;

    /// <summary>UDP port; 0 means the kernel's default, <see cref="KernelDefaultPort"/>.</summary>
    public int Port { get; init; }

    /// <summary>Underlay MTU to derive the device MTU from; 0 means the chosen interface's MTU.</summary>
    public int Mtu { get; init; }

    public bool Gbp { get; init; }

    public bool Learning { get; init; }

    public bool DirectRouting { get; init; }

    public int EffectivePort => Port == 0 ? KernelDefaultPort : Port;
}
