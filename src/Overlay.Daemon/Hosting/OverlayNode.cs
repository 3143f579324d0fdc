using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Identity;
using Overlay.Core.Leases;
using Overlay.Core.SubnetFile;
using Overlay.Daemon.Device;
using Overlay.Daemon.Health;
using Overlay.Daemon.Masquerade;
using Overlay.Daemon.Options;
using Overlay.Daemon.Reconciliation;
using Overlay.Daemon.Underlay;
using Overlay.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Keeping;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;
using Overlay.Netlink;

namespace Overlay.Daemon.Hosting;

/// <summary>
/// The node daemon's main loop. Data flows one way: etcd (<see cref="LeaseWatcher"/>) → the lease set →
/// <see cref="DesiredStateBuilder"/> → <see cref="KernelDiff"/> → netlink. Every trigger (a lease change, a
/// kernel entry deleted by someone, the periodic resync, this node's own lease moving) is coalesced into one
/// full reconcile of the kernel against the whole lease set.
/// </summary>
public sealed class OverlayNode : BackgroundService
{
    private static readonly TimeSpan RulesCheckInterval = TimeSpan.FromSeconds(5);

    private readonly DaemonOptions _options;
    private readonly DaemonStatus _status;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly SystemdNotify _systemd = new();
    private readonly Channel<Trigger> _triggers = Channel.CreateUnbounded<Trigger>(new UnboundedChannelOptions { SingleReader = true });

    public OverlayNode(DaemonOptions options, DaemonStatus status, ILoggerFactory loggers, TimeProvider time, IHostApplicationLifetime lifetime)
    {
        _options = options;
        _status = status;
        _loggers = loggers;
        _logger = loggers.CreateLogger("overlayd");
        _time = time;
        _lifetime = lifetime;
    }

    public static string Version =>
        typeof(OverlayNode).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private enum TriggerKind
    {
        Leases,
        Kernel,
        Device,
        Resync,
        OwnLease,
        Rules,
        Watchdog,
    }

    private readonly record struct Trigger(TriggerKind Kind, LeaseUpdate? Update = null, long ReceivedAt = 0);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await RunAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            Log.Fatal(_logger, e.Message);
            _systemd.Status("failed: " + e.Message);
            Environment.ExitCode = 1;
            _lifetime.StopApplication();
        }
        finally
        {
            Log.Stopping(_logger);
            _systemd.Stopping();
        }
    }

    private async Task RunAsync(CancellationToken ct)
    {
        Log.Starting(_logger, Version, string.Join(",", _options.EtcdEndpoints), _options.EtcdPrefix);
        using NetlinkHandle netlink = NetlinkHandle.Open();

        _systemd.Status("choosing the underlay interface");
        UnderlayChoice underlay = await ChooseUnderlayAsync(netlink, ct);

        await using var session = new EtcdSession(EtcdOptionsFrom(_options), _loggers.CreateLogger<EtcdSession>(), _time);
        _status.ObserveEtcdFailures(() => session.FailedCalls);
        var leaseOptions = new LeaseOptions { Ttl = _options.SubnetLeaseTtl, RenewMargin = TimeSpan.FromMinutes(_options.SubnetLeaseRenewMargin) };
        var store = new LeaseStore(session, leaseOptions, _loggers.CreateLogger<LeaseStore>(), _time);

        _systemd.Status("waiting for a valid network config in etcd");
        NetworkConfig config = await store.WaitForConfigAsync(ct);
        BackendConfig backend = config.Backend;
        Log.ConfigLoaded(_logger, config.Network.ToString(), config.SubnetLen, backend.Vni, backend.EffectivePort);

        // Dual stack: the IPv6 endpoint is needed before the identity and the lease; without one overlayd cannot run.
        (IPAddress Address, string Reason)? ipv6Endpoint = config.IPv6 is not null ? UnderlaySelection.ChooseIPv6(underlay.Interface, _options.PublicIPv6) : null;
        IPAddress? publicIPv6 = ipv6Endpoint?.Address ?? _options.PublicIPv6;

        string machineId = NodeIdentityDerivation.ReadMachineId(_options.MachineIdFile ?? NodeIdentityDerivation.MachineIdPath);
        NodeIdentity self = NodeIdentityDerivation.Create(_options.NodeName, machineId, underlay.PublicIP, publicIPv6);

        string deviceName = VxlanDevicePlan.DeviceName(backend.Vni);
        int underlayMtu = backend.Mtu != 0 ? backend.Mtu : underlay.Interface.Mtu;
        int deviceMtu = VxlanDevicePlan.DeviceMtu(underlayMtu);
        var vxlan = new VxlanInfo((uint)backend.Vni, underlay.LocalAddress, underlay.Interface.Index, (ushort)backend.EffectivePort, backend.Learning, backend.Gbp);
        MacAddress derivedMac = MacAddress.FromBytes(NodeIdentityDerivation.VtepMac(self.OwnerId, backend.Vni));
        var reconciler = new KernelReconciler(netlink, _status, _logger);
        reconciler.EnsureDevice(deviceName, vxlan, deviceMtu, derivedMac);

        // flannel-v6.VNI: the same recipe over the IPv6 underlay, with a MAC of its own and 70 bytes of overhead.
        string deviceNameV6 = VxlanDevicePlan.DeviceNameV6(backend.Vni);
        int deviceMtuV6 = VxlanDevicePlan.DeviceMtu(underlayMtu, ipv6Underlay: true);
        VxlanInfo? vxlanV6 = null;
        if (ipv6Endpoint is { } endpoint)
        {
            Log.IPv6Underlay(_logger, deviceNameV6, endpoint.Address.ToString(), endpoint.Reason, deviceMtuV6);
            vxlanV6 = vxlan with { Local = endpoint.Address };
            MacAddress derivedMacV6 = MacAddress.FromBytes(NodeIdentityDerivation.VtepMac(self.OwnerId, backend.Vni, ipv6: true));
            reconciler.EnsureDevice(deviceNameV6, vxlanV6, deviceMtuV6, derivedMacV6);
        }

        var attributes = new LeaseAttributes
        {
            PublicIP = underlay.PublicIP.ToString(),
            PublicIPv6 = publicIPv6?.ToString(),
            BackendType = BackendConfig.VxlanType,
            BackendData = new VxlanBackendData { Vni = backend.Vni, VtepMac = reconciler.DeviceMac.ToString() },
            BackendV6Data = vxlanV6 is null ? null : new VxlanBackendData { Vni = backend.Vni, VtepMac = reconciler.DeviceMacV6.ToString() },
        };
        SubnetKey? previous = SubnetEnvReader.PreviousSubnetFromFile(_options.SubnetFile);
        var keeper = new LeaseKeeper(store, config, self, attributes, previous, leaseOptions, _loggers.CreateLogger<LeaseKeeper>(), _time);

        _systemd.Status("acquiring a subnet lease");
        OwnLease own = await AcquireAsync(keeper, ct);
        Log.LeaseAcquired(_logger, own.Subnet.ToString(), own.How.ToString(), own.Expiration?.ToString("u", CultureInfo.InvariantCulture) ?? "never (reservation)");
        _status.SetLeaseExpiration(own.Expiration);
        EnsureAddresses(reconciler, config, own, vxlanV6 is not null);
        keeper.LeaseChanged += changed => _triggers.Writer.TryWrite(new Trigger(TriggerKind.OwnLease));

        var watcher = new LeaseWatcher(session, _loggers.CreateLogger<LeaseWatcher>());
        using var background = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task[] pumps =
        [
            PumpLeasesAsync(watcher, keeper, background.Token),
            keeper.RunAsync(background.Token),
            PumpKernelEventsAsync(reconciler, deviceName, config.Network, vxlanV6 is null ? null : (deviceNameV6, config.IPv6!.Network), background.Token),
            TickAsync(TriggerKind.Resync, _options.ResyncInterval, background.Token),
            TickAsync(TriggerKind.Rules, RulesCheckInterval, background.Token),
            SystemdNotify.WatchdogInterval() is { } watchdog ? TickAsync(TriggerKind.Watchdog, watchdog, background.Token) : Task.CompletedTask,
        ];

        var nft = new NftTable();
        NftRulesPlan rules = PlanRules(config, own);
        IReadOnlyList<Lease> leases = [];
        bool ready = false;

        // A device deleted by someone is recreated with its MAC and address; a present one gets its MAC re-asserted.
        void CheckDevice(AddressFamily family, string name, VxlanInfo wanted, int mtu, IPNetwork ownSubnet, IPNetwork podNetwork)
        {
            int repairs = 0;
            if (!reconciler.DeviceExists(name, family))
            {
                Log.DeviceGone(_logger, name);
                reconciler.EnsureDevice(name, wanted, mtu, family == AddressFamily.InterNetworkV6 ? reconciler.DeviceMacV6 : reconciler.DeviceMac);
                repairs = 1;
            }
            else
            {
                reconciler.ReassertMac(name, family);
            }

            _status.AddRepairs(repairs + reconciler.EnsureAddress(ownSubnet, podNetwork));
        }

        try
        {
            await foreach (Trigger first in _triggers.Reader.ReadAllAsync(ct))
            {
                // Coalesce whatever else is queued into this one pass.
                var kinds = new HashSet<TriggerKind> { first.Kind };
                long oldestUpdate = first.ReceivedAt;
                var updates = new List<LeaseUpdate>();
                if (first.Update is not null)
                {
                    updates.Add(first.Update);
                }

                while (_triggers.Reader.TryRead(out Trigger next))
                {
                    kinds.Add(next.Kind);
                    if (next.Update is not null)
                    {
                        updates.Add(next.Update);
                        oldestUpdate = oldestUpdate == 0 ? next.ReceivedAt : oldestUpdate;
                    }
                }

                LeaseUpdate? latest = updates.Count > 0 ? updates[^1] : null;

                if (latest is not null)
                {
                    leases = latest.Current;
                }

                if (kinds.Contains(TriggerKind.Watchdog))
                {
                    _systemd.Watchdog();
                }

                if (!ready && latest is null)
                {
                    continue; // the first reconcile waits for the full lease list
                }

                try
                {
                    if (kinds.Contains(TriggerKind.OwnLease) && keeper.Current is { } current && current.Subnet != own.Subnet)
                    {
                        Log.SubnetChanged(_logger, own.Subnet.ToString(), current.Subnet.ToString());
                        own = current;
                        EnsureAddresses(reconciler, config, own, vxlanV6 is not null);
                        rules = PlanRules(config, own);
                        await ApplyRulesAsync(nft, rules, ct);
                        WriteSubnetFile(config, own, deviceMtu);
                    }

                    if (keeper.Current is { } renewed)
                    {
                        own = renewed;
                        _status.SetLeaseExpiration(renewed.Expiration);
                    }

                    if (kinds.Contains(TriggerKind.Device) || kinds.Contains(TriggerKind.Resync))
                    {
                        CheckDevice(AddressFamily.InterNetwork, deviceName, vxlan, deviceMtu, own.Subnet.IPv4, config.Network);
                        if (vxlanV6 is not null && own.Subnet.IPv6 is { } ownV6)
                        {
                            CheckDevice(AddressFamily.InterNetworkV6, deviceNameV6, vxlanV6, deviceMtuV6, ownV6, config.IPv6!.Network);
                        }
                    }

                    bool onlyHousekeeping = kinds.IsSubsetOf([TriggerKind.Rules, TriggerKind.Watchdog]);
                    bool fullPass = false;
                    if (!onlyHousekeeping)
                    {
                        bool drift = !kinds.IsSubsetOf([TriggerKind.Leases, TriggerKind.OwnLease, TriggerKind.Rules, TriggerKind.Watchdog]);

                        // A plain lease change touches only that lease's entries; anything else compares everything.
                        bool onlyLeaseChanges = ready && !drift && !kinds.Contains(TriggerKind.OwnLease) && updates.Count > 0 && !updates.Any(u => u.IsResync);
                        ReconcileResult? delta = onlyLeaseChanges
                            ? reconciler.TryApplyLeaseChanges(updates.SelectMany(u => u.Changes).Select(c => (c.Subnet, c.Kind == LeaseChangeKind.Removed ? null : c.Lease)))
                            : null;
                        fullPass = delta is null;
                        ReconcileResult result = delta ?? reconciler.Reconcile(config, leases, own.Subnet, underlay.Interface.Index);
                        if (ready && drift)
                        {
                            _status.AddRepairs(result.Changes);
                        }

                        if (oldestUpdate != 0)
                        {
                            _status.RecordWatchLag(Stopwatch.GetElapsedTime(oldestUpdate));
                        }

                        if (result.Changes > 0 || !ready)
                        {
                            Log.Reconciled(_logger, string.Join("+", kinds.Order()), result.Changes, result.Peers, result.Failed, result.Duration.TotalMilliseconds);
                        }
                    }

                    if (!ready)
                    {
                        await ApplyRulesAsync(nft, rules, ct);
                        WriteSubnetFile(config, own, deviceMtu);
                        ready = true;
                        _status.MarkReady();
                        Log.Ready(_logger, _status.PeersProgrammed, (long)(DateTime.Now - Process.GetCurrentProcess().StartTime).TotalMilliseconds);
                        _systemd.Ready();
                    }
                    else if (kinds.Contains(TriggerKind.Rules) && !await nft.IsIntactAsync(ct))
                    {
                        Log.RulesRestored(_logger);
                        await ApplyRulesAsync(nft, rules, ct);
                        _status.AddRepairs(1);
                    }

                    if (fullPass)
                    {
                        HeapTrim.AfterFullPass();
                    }

                    _systemd.Status($"{own.Subnet}: {_status.PeersProgrammed} peers, {_status.Repairs} repairs");
                }
                catch (Exception e) when (e is NetlinkException or NftException or IOException or UnauthorizedAccessException)
                {
                    Log.ReconcileFailed(_logger, e.Message);
                    _triggers.Writer.TryWrite(new Trigger(TriggerKind.Resync)); // try again after the coalescing pause below
                    await Task.Delay(TimeSpan.FromSeconds(1), _time, ct);
                }
            }
        }
        finally
        {
            await background.CancelAsync();
            try
            {
                await Task.WhenAll(pumps);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>The lease's address on the IPv4 device and, in dual stack, its IPv6 address on the IPv6 device.</summary>
    private static void EnsureAddresses(KernelReconciler reconciler, NetworkConfig config, OwnLease own, bool dualStack)
    {
        reconciler.EnsureAddress(own.Subnet.IPv4, config.Network);
        if (dualStack && own.Subnet.IPv6 is { } ownV6 && config.IPv6 is { } v6)
        {
            reconciler.EnsureAddress(ownV6, v6.Network);
        }
    }

    /// <summary>Which of overlayd's nftables tables exist for these options, config and lease.</summary>
    private NftRulesPlan PlanRules(NetworkConfig config, OwnLease own) =>
        NftRuleset.Plan(config, own.Subnet, _options.IpMasq, _options.IptablesForwardRules);

    private async Task ApplyRulesAsync(NftTable nft, NftRulesPlan rules, CancellationToken ct)
    {
        try
        {
            await nft.ApplyAsync(rules, ct);
        }
        catch (NftException e)
        {
            Log.RulesFailed(_logger, e.Message);
            throw;
        }
    }

    private void WriteSubnetFile(NetworkConfig config, OwnLease own, int mtu)
    {
        var env = new SubnetEnv(config.Network, own.Subnet, config.IPv6?.Network, mtu, _options.IpMasq);
        if (AtomicFile.WriteIfChanged(_options.SubnetFile, env.Render()))
        {
            Log.SubnetFileWritten(_logger, _options.SubnetFile);
        }
    }

    private async Task<OwnLease> AcquireAsync(LeaseKeeper keeper, CancellationToken ct)
    {
        TimeSpan delay = TimeSpan.FromSeconds(2);
        while (true)
        {
            try
            {
                return await keeper.AcquireAsync(ct);
            }
            catch (OutOfSubnetsException e)
            {
                // flannel exits here; overlayd waits for a lease to be freed or the config to grow.
                Log.ReconcileFailed(_logger, e.Message);
                _systemd.Status(e.Message);
                await Task.Delay(delay, _time, ct);
                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }

    private async Task<UnderlayChoice> ChooseUnderlayAsync(NetlinkHandle netlink, CancellationToken ct)
    {
        var request = new UnderlayRequest(_options.Iface, _options.IfaceRegex, _options.IfaceCanReach, _options.PublicIP);
        TimeSpan delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                UnderlayChoice choice = UnderlaySelection.Choose(request, ReadInterfaces(netlink), destination => LookUp(netlink, destination), DefaultRouteInterface(netlink));
                Log.UnderlayChosen(_logger, choice.Interface.Name, choice.Interface.Index, choice.Interface.Mtu, choice.LocalAddress.ToString(), choice.PublicIP.ToString(), choice.Reason);
                return choice;
            }
            catch (UnderlayException e)
            {
                // At boot the interface may not be up yet; say why and wait.
                Log.UnderlayRetry(_logger, e.Message);
                _systemd.Status(e.Message);
                await Task.Delay(delay, _time, ct);
                delay = TimeSpan.FromSeconds(Math.Min(10, delay.TotalSeconds * 2));
            }
        }
    }

    private static List<UnderlayInterface> ReadInterfaces(NetlinkHandle netlink)
    {
        IReadOnlyList<AddressEntry> addresses = netlink.ListAddresses();
        return netlink.ListLinks()
            .Select(link => new UnderlayInterface(
                link.Index,
                link.Name,
                link.Mtu,
                link.IsUp,
                link.Name == "lo",
                addresses.Where(a => a.InterfaceIndex == link.Index).Select(a => a.Address).ToList()))
            .ToList();
    }

    private static UnderlayRoute? LookUp(NetlinkHandle netlink, IPAddress destination)
    {
        try
        {
            RouteLookup route = netlink.LookupRoute(destination);
            return new UnderlayRoute(route.InterfaceIndex, route.PreferredSource);
        }
        catch (NetlinkException)
        {
            return null;
        }
    }

    private static int? DefaultRouteInterface(NetlinkHandle netlink) =>
        netlink.ListRoutes(family: AddressFamily.InterNetwork)
            .Where(r => r.Destination.PrefixLength == 0 && r.InterfaceIndex != 0)
            .OrderBy(r => r.Metric)
            .Select(r => (int?)r.InterfaceIndex)
            .FirstOrDefault();

    private async Task PumpLeasesAsync(LeaseWatcher watcher, LeaseKeeper keeper, CancellationToken ct)
    {
        await foreach (LeaseUpdate update in watcher.WatchAsync(ct))
        {
            keeper.NotifyLeaseChanged(update);
            _triggers.Writer.TryWrite(new Trigger(TriggerKind.Leases, update, Stopwatch.GetTimestamp()));
        }
    }

    private async Task TickAsync(TriggerKind kind, TimeSpan interval, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval, _time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            _triggers.Writer.TryWrite(new Trigger(kind));
        }
    }

    /// <param name="ipv6">The IPv6 device's name and the IPv6 pod network in a dual-stack network; null for IPv4 only.</param>
    private async Task PumpKernelEventsAsync(KernelReconciler reconciler, string deviceName, IPNetwork podNetwork, (string Name, IPNetwork PodNetwork)? ipv6, CancellationToken ct)
    {
        NetlinkGroups groups = NetlinkGroups.Link | NetlinkGroups.Neighbour | NetlinkGroups.IPv4Route | NetlinkGroups.IPv4Address;
        if (ipv6 is not null)
        {
            groups |= NetlinkGroups.IPv6Route | NetlinkGroups.IPv6Address;
        }

        using NetlinkMonitor monitor = NetlinkMonitor.Start(groups);
        await foreach (NetlinkEvent change in monitor.ReadAllAsync(ct))
        {
            if (reconciler.IsOwnDeletion(change))
            {
                continue;
            }

            // The IPv6 device's index changes when it is recreated: read it per event.
            WatchedDevice? watchedV6 = ipv6 is { } v6 ? new WatchedDevice(reconciler.DeviceIndexV6, v6.Name, v6.PodNetwork) : null;
            TriggerKind? kind = KernelEventFilter.Classify(change, reconciler.DeviceIndex, deviceName, podNetwork, watchedV6) switch
            {
                KernelEventMeaning.Repair => TriggerKind.Kernel,
                KernelEventMeaning.Device => TriggerKind.Device,
                KernelEventMeaning.Resync => TriggerKind.Resync,
                _ => null,
            };
            if (kind is { } k)
            {
                if (k == TriggerKind.Resync)
                {
                    Log.MonitorOverrun(_logger);
                }

                _triggers.Writer.TryWrite(new Trigger(k));
            }
        }
    }

    internal static EtcdOptions EtcdOptionsFrom(DaemonOptions options) => new()
    {
        Endpoints = options.EtcdEndpoints,
        Prefix = options.EtcdPrefix,
        CaFile = options.EtcdCaFile,
        CertFile = options.EtcdCertFile,
        KeyFile = options.EtcdKeyFile,
        Username = options.EtcdUsername,
        Password = options.EtcdPassword,
    };
}
