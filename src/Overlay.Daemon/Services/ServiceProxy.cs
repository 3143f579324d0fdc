using System.Net;
using Microsoft.Extensions.Logging;
using Overlay.Core.Config;
using Overlay.Core.Dns;
using Overlay.Core.SubnetFile;
using Overlay.Daemon.Dns;
using Overlay.Core.Services;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Daemon.Masquerade;
using Overlay.Daemon.Options;
using Overlay.Leases.Etcd;
using Overlay.Leases.Watching;

namespace Overlay.Daemon.Services;

/// <summary>
/// The service network's part of the loop, added in one call: with a <c>ServiceNetwork</c> in the config, the services
/// component and the two registry watches (services, pods); without one, the removal of a service table an earlier
/// run left. A service network that overlaps this node's own addresses is refused with both ranges named: the pod
/// network keeps working, services do not, until the config or the node changes. With services comes cluster DNS
/// (unless <c>--dns=false</c>): the zone fed by the services component, this node's listener, and cluster-dns.env.
/// </summary>
public static partial class ServiceProxy
{
    public static async Task<ServicesComponent?> AddToAsync(
        NodeLoop loop,
        NetworkConfig config,
        DaemonOptions options,
        IEnumerable<(IPAddress Address, int PrefixLength)> nodeAddresses,
        EtcdSession session,
        Func<IPNetwork> localSubnet,
        DaemonStatus status,
        ILoggerFactory loggers,
        TimeProvider time,
        CancellationToken ct)
    {
        ILogger logger = loggers.CreateLogger("overlayd");
        string dnsFile = ClusterDnsFile.PathBeside(options.SubnetFile);
        if (config.ServiceNetwork is not { } serviceNetwork)
        {
            await RemoveLeftoverAsync(logger, ct);
            RemoveDnsFile(dnsFile, logger);
            return null;
        }

        if (ServiceNetworkChecks.AgainstUnderlay(config, nodeAddresses) is { } overlap)
        {
            LogServicesRefused(logger, overlap);
            await RemoveLeftoverAsync(logger, ct);
            RemoveDnsFile(dnsFile, logger);
            return null;
        }

        try
        {
            foreach (string sysctl in await new BridgeNetfilter().EnableAsync(ipv6: false, ct))
            {
                LogSysctlSet(logger, sysctl);
            }
        }
        catch (BridgeNetfilterException e)
        {
            // Services still work for endpoints on other nodes; the message says what to enable for local ones.
            LogBridgeNetfilter(logger, e.Message);
        }

        INftRunner nft = OpenNft(logger);
        ClusterZone? zone = null;
        IPAddress? dnsAddress = config.ClusterDnsAddress;
        if (options.Dns && dnsAddress is not null)
        {
            IPNetwork[] reverse = [serviceNetwork, .. config.ServiceIPv6Network is { } v6 ? [v6] : Array.Empty<IPNetwork>(), config.Network, .. config.IPv6 is { } pods6 ? [pods6.Network] : Array.Empty<IPNetwork>()];
            zone = new ClusterZone(config.ClusterDomain, dnsAddress, reverse, time: time);
            ILogger dnsLogger = loggers.CreateLogger("overlayd");
            var listener = new ClusterDnsListener(
                new ClusterDnsAnswerer(zone),
                () => localSubnet().BaseAddress,
                listen => DnsForwarder.ForNode(options.DnsUpstream, "/etc/resolv.conf", listen, dnsAddress, dnsLogger, time),
                dnsLogger,
                time);
            loop.Add(listener);
            loop.Start(listener);
            WriteDnsFile(dnsFile, new ClusterDnsFile(dnsAddress, config.ClusterDomain), logger);
        }
        else
        {
            RemoveDnsFile(dnsFile, logger);
        }

        var component = new ServicesComponent(
            new ServiceCatalog(session.Prefix), new ServiceTable(nft: nft), serviceNetwork, [config.Network], status, time, logger, localSubnet: localSubnet,
            clusterDns: zone is null ? null : dnsAddress, zone: zone);
        loop.Add(component);
        loop.Start(new RegistrySource(new PrefixWatcher(session, RegistryKeys.ServicesPrefix(session.Prefix), loggers.CreateLogger<PrefixWatcher>())));
        loop.Start(new RegistrySource(new PrefixWatcher(session, RegistryKeys.PodsPrefix(session.Prefix), loggers.CreateLogger<PrefixWatcher>())));
        LogServing(logger, serviceNetwork, config.ClusterDomain);
        return component;
    }

    /// <summary>libnftables in-process (a change in well under a millisecond); the nft program when the library is missing.</summary>
    private static INftRunner OpenNft(ILogger logger)
    {
        try
        {
            return NftLibrary.Open();
        }
        catch (NftException e)
        {
            LogNoLibrary(logger, e.Message);
            return NftCommand.Default;
        }
    }

    private static void WriteDnsFile(string path, ClusterDnsFile file, ILogger logger)
    {
        try
        {
            AtomicFile.Write(path, file.Render());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // DNS still answers; pods started without --cluster-dns fall back to the node's resolvers until it is written.
            LogDnsFileFailed(logger, path, e.Message);
        }
    }

    private static void RemoveDnsFile(string path, ILogger logger)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogDnsFileFailed(logger, path, e.Message);
        }
    }

    private static async Task RemoveLeftoverAsync(ILogger logger, CancellationToken ct)
    {
        try
        {
            await new ServiceTable().RemoveAsync(ct);
        }
        catch (NftException e)
        {
            LogRemoveFailed(logger, e.Message);
        }
    }

    [LoggerMessage(1035, LogLevel.Information, "services: serving the service network {Network} (cluster domain {Domain})")]
    private static partial void LogServing(ILogger logger, IPNetwork network, string domain);

    [LoggerMessage(1036, LogLevel.Error, "services: not served on this node: {Problem}; change ServiceNetwork with overlayctl config set, or the node's addresses, and restart overlayd")]
    private static partial void LogServicesRefused(ILogger logger, string problem);

    [LoggerMessage(1037, LogLevel.Error, "services: {Problem}")]
    private static partial void LogBridgeNetfilter(ILogger logger, string problem);

    [LoggerMessage(1038, LogLevel.Information, "services: set {Sysctl}=1 so bridged traffic to same-node endpoints passes netfilter")]
    private static partial void LogSysctlSet(ILogger logger, string sysctl);

    [LoggerMessage(1039, LogLevel.Warning, "services: libnftables could not be loaded ({Error}); running the nft program for each change instead")]
    private static partial void LogNoLibrary(ILogger logger, string error);

    [LoggerMessage(1041, LogLevel.Warning, "DNS: could not write or remove {Path}: {Error}")]
    private static partial void LogDnsFileFailed(ILogger logger, string path, string error);

    [LoggerMessage(1040, LogLevel.Debug, "services: could not remove a service table left by an earlier run: {Error}")]
    private static partial void LogRemoveFailed(ILogger logger, string error);
}
