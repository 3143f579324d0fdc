using Overlay.Core.Config;

namespace Overlay.Cli.Output;

/// <summary>A network config with its defaults resolved, as text and as JSON.</summary>
internal static class ConfigView
{
    public static NetworkConfigJson ToJson(NetworkConfig config) => new(
        config.Network.ToString(),
        config.SubnetLen,
        config.SubnetMin.ToString(),
        config.SubnetMax.ToString(),
        config.IPv6 is { } v6 ? new NetworkRangeJson(v6.Network.ToString(), v6.SubnetLen, v6.SubnetMin.ToString(), v6.SubnetMax.ToString()) : null,
        new BackendJson(config.Backend.Type, config.Backend.Vni, config.Backend.EffectivePort, config.Backend.Mtu, config.Backend.Gbp, config.Backend.Learning, config.Backend.DirectRouting),
        config.ServiceNetwork?.ToString(),
        config.ServiceIPv6Network?.ToString(),
        config.ClusterDomain,
        config.ClusterDnsAddress?.ToString());

    /// <summary>The service network part of the summary; nothing when the config has none (as before services).</summary>
    private static string Services(NetworkConfig config) => config.ServiceNetwork is { } services
        ? $"; services {services}{(config.ServiceIPv6Network is { } v6 ? $" and {v6}" : "")}, cluster domain {config.ClusterDomain}, cluster DNS {config.ClusterDnsAddress}"
        : "";

    /// <summary>One line: what the config resolves to.</summary>
    public static string Summary(NetworkConfig config)
    {
        string v6 = config.IPv6 is { } ipv6 ? $"; IPv6 {ipv6.Network}, /{ipv6.SubnetLen} subnets from {ipv6.SubnetMin} to {ipv6.SubnetMax}" : "";
        return $"Network {config.Network}, /{config.SubnetLen} subnets from {config.SubnetMin} to {config.SubnetMax} "
            + $"({Inspection.NetworkStatus.SubnetCount(config)} subnets){v6}; backend vxlan, VNI {config.Backend.Vni}, port {config.Backend.EffectivePort}{Services(config)}";
    }
}
