using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Identity;
using Overlay.Core.Leases;
using Overlay.Core.SubnetFile;
using Overlay.Daemon.Device;
using Overlay.Daemon.Health;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Daemon.Masquerade;
using Overlay.Daemon.Options;
using Overlay.Daemon.Reconciliation;
using Overlay.Daemon.Services;
using Overlay.Daemon.SubnetFile;
using Overlay.Daemon.Underlay;
using Overlay.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Keeping;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Hosting;

/// <summary>
/// The composition root of one node: carries out <see cref="StartupSequence"/>'s steps and, on the way, builds
/// the components and trigger sources of the <see cref="Loop"/> that runs once the node is ready.
/// </summary>
public sealed partial class NodeStartup : IStartupSteps, IAsyncDisposable
{
    private static readonly TimeSpan RulesCheckInterval = TimeSpan.FromSeconds(5);

    private readonly DaemonOptions _options;
    private readonly DaemonStatus _status;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SystemdNotify _systemd;

    // Each component that talks to the kernel has a netlink socket of its own: a socket serves one request at a time.
    private readonly NetlinkHandle _netlink = NetlinkHandle.Open();
    private readonly VxlanDevices _devices;
    private readonly KernelReconciler _reconciler;

    private UnderlayChoice? _underlay;
    private EtcdSession? _session;
    private LeaseStore? _store;
    private NetworkConfig? _config;
    private NodeIdentity? _self;
    private LeaseAttributes? _attributes;
    private LeaseKeeper? _keeper;
    private OwnLease? _acquired;
    private DeviceComponent? _deviceComponent;
    private RulesComponent? _rules;
    private SubnetFileComponent? _subnetFile;
    private PeersComponent? _peers;
    private Task<LeaseUpdate>? _firstList;

    public NodeStartup(DaemonOptions options, DaemonStatus status, ILoggerFactory loggers, TimeProvider time, SystemdNotify systemd)
    {
        _options = options;
        _status = status;
        _loggers = loggers;
        _logger = loggers.CreateLogger("overlayd");
        _time = time;
        _systemd = systemd;
        _devices = new VxlanDevices(NetlinkHandle.Open(), status, loggers.CreateLogger("overlayd"));
        _reconciler = new KernelReconciler(_netlink, _devices, status, loggers.CreateLogger("overlayd"));
        Loop = new NodeLoop(time, _logger);
    }

    /// <summary>The loop, with every component and source added by the time the node is ready.</summary>
    public NodeLoop Loop { get; }

    private NetworkConfig Config => _config ?? throw new InvalidOperationException("the network config is not loaded yet");

    private UnderlayChoice Underlay => _underlay ?? throw new InvalidOperationException("no underlay chosen yet");

    /// <summary>The own lease as the keeper holds it now (renewed, or moved after it was lost).</summary>
    private OwnLease Own => _keeper?.Current ?? _acquired ?? throw new InvalidOperationException("no lease acquired yet");

    public void Status(string text)
    {
        _systemd.Status(text);
        _status.SetActivity(text);
    }

    public void ChooseUnderlay()
    {
        var request = new UnderlayRequest(_options.Iface, _options.IfaceRegex, _options.IfaceCanReach, _options.PublicIP);
        UnderlayChoice choice = UnderlaySelection.Choose(request, ReadInterfaces(_netlink), LookUp, DefaultRouteInterface(_netlink));
        LogUnderlayChosen(_logger, choice.Interface.Name, choice.Interface.Index, choice.Interface.Mtu, choice.LocalAddress, choice.PublicIP, choice.Reason);
        _underlay = choice;
    }

    public async Task LoadConfigAsync(CancellationToken ct)
    {
        _session ??= new EtcdSession(_options.Etcd, _loggers.CreateLogger<EtcdSession>(), _time);
        _status.ObserveEtcdFailures(() => _session.FailedCalls);
        _store ??= new LeaseStore(_session, LeaseOptions, _loggers.CreateLogger<LeaseStore>(), _time);
        NetworkConfig config = await _store.WaitForConfigAsync(Status, ct);
        LogConfigLoaded(_logger, config.Network, config.SubnetLen, config.Backend.Vni, config.Backend.EffectivePort);
        _config = config;
    }

    private LeaseOptions LeaseOptions => new() { Ttl = _options.SubnetLeaseTtl, RenewMargin = TimeSpan.FromMinutes(_options.SubnetLeaseRenewMargin) };

    public void EnsureDevices()
    {
        NetworkConfig config = Config;
        UnderlayChoice underlay = Underlay;
        BackendConfig backend = config.Backend;

        // Dual stack: the IPv6 endpoint is needed before the identity and the lease; without one overlayd cannot run.
        (IPAddress Address, string Reason)? ipv6Endpoint = config.IPv6 is not null ? UnderlaySelection.ChooseIPv6(underlay.Interface, _options.PublicIPv6) : null;
        IPAddress? publicIPv6 = ipv6Endpoint?.Address ?? _options.PublicIPv6;
        string machineId = NodeIdentityDerivation.ReadMachineId(_options.MachineIdFile ?? NodeIdentityDerivation.MachineIdPath);
        NodeIdentity self = NodeIdentityDerivation.Create(_options.NodeName, machineId, underlay.PublicIP, publicIPv6);

        // One device per family: flannel.VNI, and in dual stack flannel-v6.VNI, the same recipe over the IPv6
        // underlay with a MAC of its own and 70 bytes of overhead.
        int underlayMtu = backend.Mtu != 0 ? backend.Mtu : underlay.Interface.Mtu;
        var vxlan = new VxlanInfo((uint)backend.Vni, underlay.LocalAddress, underlay.Interface.Index, (ushort)backend.EffectivePort, backend.Learning, backend.Gbp);
        var attributes = new LeaseAttributes
        {
            PublicIP = underlay.PublicIP.ToString(),
            PublicIPv6 = publicIPv6?.ToString(),
            BackendType = BackendConfig.VxlanType,
        };
        foreach (VxlanFamily family in VxlanFamily.Of(config))
        {
            VxlanInfo local = vxlan;
            if (family.IsIPv6)
            {
                (IPAddress address, string reason) = ipv6Endpoint!.Value;
                local = vxlan with { Local = address };
                LogIPv6Underlay(_logger, family.DeviceName, address, reason, underlayMtu - family.Overhead);
            }

            MacAddress derivedMac = MacAddress.FromBytes(NodeIdentityDerivation.VtepMac(self.OwnerId, backend.Vni, ipv6: family.IsIPv6));
            attributes = _devices.EnsureDevice(family.OnUnderlay(local, underlayMtu, derivedMac)).Advertise(attributes);
        }

        _self = self;
        _attributes = attributes;
    }

    public async Task AcquireLeaseAsync(CancellationToken ct)
    {
        if (_keeper is null)
        {
            SubnetKey? previous = SubnetEnvReader.PreviousSubnetFromFile(_options.SubnetFile, out string? problem);
            if (problem is not null)
            {
                LogSubnetFileIgnored(_logger, _options.SubnetFile, problem);
            }

            _keeper = new LeaseKeeper(_store!, Config, _self!, _attributes!, previous, LeaseOptions, _loggers.CreateLogger<LeaseKeeper>(), _time);
        }

        OwnLease own = await _keeper.AcquireAsync(ct);
        _acquired = own;
        LogLeaseAcquired(_logger, own.Subnet, own.How, own.Expiration?.ToString("u", CultureInfo.InvariantCulture) ?? "never (reservation)");
        _status.SetLeaseExpiration(own.Expiration);

        _deviceComponent = new DeviceComponent(_devices, () => Own, _status, Loop, _loggers.CreateLogger("overlayd"));
        _deviceComponent.EnsureAddresses();
    }

    public async Task FirstReconcileAsync(CancellationToken ct)
    {
        // Tried again after a kernel error: the components and sources are made once.
        if (_firstList is { } started)
        {
            _peers!.FirstPass((await started.WaitAsync(ct)).Current);
            return;
        }

        NetworkConfig config = Config;
        LeaseKeeper keeper = _keeper!;
        var peers = _peers = new PeersComponent(_reconciler, () => Own, Underlay.Interface.Index, _status, Loop, _time, _loggers.CreateLogger("overlayd"));
        _rules = new RulesComponent(new NftTable(), config, _options.IpMasq, _options.IptablesForwardRules, () => Own, _status, _loggers.CreateLogger("overlayd"));
        _subnetFile = new SubnetFileComponent(_options.SubnetFile, config, _devices.Families[0].Mtu, _options.IpMasq, () => Own, _loggers.CreateLogger("overlayd"));
        Loop.Add(peers);
        Loop.Add(_deviceComponent!);
        Loop.Add(_rules);
        Loop.Add(_subnetFile);
        Loop.Add(new HealthComponent(_status, _systemd, () => Own, _time));
        PodPublishing.AddTo(Loop, _options, _session!, () => Own, _status, _loggers, _time);
        await ServiceProxy.AddToAsync(Loop, config, _options, _netlink.ListAddresses().Select(a => (a.Address, a.PrefixLength)), _session!, () => Own.Subnet.IPv4, _status, _loggers, _time, ct);

        // Sources start now, so that nothing that happens during the first reconcile is missed.
        var leases = new LeaseUpdatesSource(new LeaseWatcher(_session!, _loggers.CreateLogger<LeaseWatcher>()), keeper);
        Loop.Start(leases);
        Loop.Start(new OwnLeaseSource(keeper));
        Loop.Start(new KernelEventsSource(_devices, _reconciler, _loggers.CreateLogger("overlayd")));
        Loop.Start(new TimerSource(Triggers.Resync, _options.ResyncInterval, _time));
        Loop.Start(new TimerSource(Triggers.Rules, RulesCheckInterval, _time));
        Loop.Start(new TimerSource(Triggers.Housekeeping, HealthComponent.HousekeepingInterval, _time));
        Loop.Start(new EtcdProbeSource(_session!, _status, _logger, _time));
        if (SystemdNotify.WatchdogInterval() is { } watchdog)
        {
            Loop.Start(new TimerSource(Triggers.Watchdog, watchdog, _time));
        }

        _firstList = leases.FirstList;
        LeaseUpdate first = await leases.FirstList.WaitAsync(ct);
        peers.FirstPass(first.Current);
    }

    public Task ApplyRulesAsync(CancellationToken ct) => _rules!.ApplyAsync(ct);

    public void WriteSubnetFile() => _subnetFile!.Write();

    public void MarkReady()
    {
        _status.MarkReady();
        TimeSpan sinceStart = _time.GetUtcNow() - new DateTimeOffset(Process.GetCurrentProcess().StartTime);
        LogReady(_logger, _status.PeersProgrammed, (long)sinceStart.TotalMilliseconds);
        _systemd.Ready();
        _systemd.Status($"{Own.Subnet}: {_status.PeersProgrammed} peers, {_status.Repairs} repairs");
    }

    public async ValueTask DisposeAsync()
    {
        await Loop.DisposeAsync();
        if (_session is not null)
        {
            await _session.DisposeAsync();
        }

        _devices.Dispose();
        _netlink.Dispose();
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

    private UnderlayRoute? LookUp(IPAddress destination)
    {
        try
        {
            RouteLookup route = _netlink.LookupRoute(destination);
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

    [LoggerMessage(1001, LogLevel.Information, "underlay: {Interface} (index {Index}, MTU {Mtu}), local {Local}, public IP {PublicIP}: {Reason}")]
    private static partial void LogUnderlayChosen(ILogger logger, string @interface, int index, int mtu, IPAddress local, IPAddress publicIP, string reason);

    [LoggerMessage(1002, LogLevel.Information, "network {Network}, /{SubnetLen} subnets, VNI {Vni}, port {Port}")]
    private static partial void LogConfigLoaded(ILogger logger, IPNetwork network, int subnetLen, int vni, int port);

    [LoggerMessage(1004, LogLevel.Information, "lease {Subnet} ({How}), expires {Expiration}")]
    private static partial void LogLeaseAcquired(ILogger logger, SubnetKey subnet, AllocationOutcome how, string expiration);

    [LoggerMessage(1006, LogLevel.Information, "ready: {Peers} peers programmed, {Milliseconds} ms after the process started")]
    private static partial void LogReady(ILogger logger, long peers, long milliseconds);

    [LoggerMessage(1143, LogLevel.Warning, "ignoring the previous {Path}: {Problem}; the lease is chosen without it and the file is written anew")]
    private static partial void LogSubnetFileIgnored(ILogger logger, string path, string problem);

    [LoggerMessage(1023, LogLevel.Information, "dual stack: IPv6 device {Device}, local and public IPv6 {Local} ({Reason}), MTU {Mtu}")]
    private static partial void LogIPv6Underlay(ILogger logger, string device, IPAddress local, string reason, int mtu);
}
