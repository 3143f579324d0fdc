using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Cli.Inspection;
using Overlay.Cli.Output;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Core.Services;
using Overlay.Leases.Services;
using Overlay.Leases.Store;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Cli.Commands;

/// <summary>
/// <c>overlayctl node status</c> and <c>overlayctl trace</c>: a node's kernel (read through our rtnetlink layer, in
/// the namespace overlayctl runs in or the one <c>--netns</c> names) against what etcd says it should hold.
/// </summary>
internal static class NodeCommands
{
    /// <summary>overlayd's health port in the examples and the test clusters (overlayd's own default is off).</summary>
    public const int DefaultHealthPort = 9100;

    public static readonly Option<string> Netns = new("--netns")
    {
        HelpName = "NS",
        Description = "read the kernel of this network namespace (a name under /run/netns, or a path) instead of overlayctl's own",
    };

    public static readonly Option<string> Subnet = new("--subnet")
    {
        HelpName = "SUBNET",
        Description = "this node's lease (default: the lease whose subnet address is on flannel.<VNI>, whose VtepMAC is its MAC, or whose PublicIP is an address of the node)",
    };

    public static readonly Option<string> HealthUrl = new("--health-url")
    {
        HelpName = "URL",
        Description = $"overlayd's health endpoint for /readyz and /metrics (default http://<the lease's PublicIP>:{DefaultHealthPort}); off to skip",
    };

    public static Command NodeGroup() => CommandLine.Group("node", "this node's kernel against etcd",
        [],
        CommandLine.Leaf("status", "the VXLAN device, this node's lease, every peer's route, neighbour and FDB entry against etcd, nftables tables, overlayd's health; exit 1 when the kernel does not match etcd",
            "overlayctl node status -o wide", StatusAsync,
            Netns, Subnet, HealthUrl, CommandLine.Output("node status", "table", "wide", "json")));

    public static Command TraceCommand() => CommandLine.Leaf("trace",
        "the path from SRC to DST as this node's kernel holds it: which node owns each, the route, neighbour and FDB entry needed and whether each is right, a ClusterIP's endpoints; exit 1 when the path breaks",
        "overlayctl trace 198.18.1.5 198.18.2.7",
        TraceAsync,
        new Argument<string>("SRC") { Description = "a pod or node address on this node (or in --netns)" },
        new Argument<string>("DST") { Description = "a pod or node address, or a ClusterIP" },
        Netns, Subnet, CommandLine.Output("trace", "table", "json"));

    public static async Task<int> StatusAsync(CliContext c, CancellationToken ct)
    {
        string? netns = NetnsFlag(c);
        Uri? healthUrl = HealthFlag(c);
        NetworkConfig config = await ConfigCommands.StoredConfigAsync(c, "node status compares the kernel with it", ct);
        LeaseSnapshot snapshot = await c.Store.ListAsync(withExpiration: true, ct);
        (KernelSnapshot kernel, NodeView view) = Inspect(c, netns, config, snapshot.Leases, []);

        Task<(IReadOnlyList<string> Tables, string? Error)> nft = NftTables.ListAsync(netns, ct);
        healthUrl ??= c.Flag(HealthUrl) is "off" ? null : DefaultHealthUrl(view);
        HealthReading? health = healthUrl is null ? null : await OverlaydHealth.ReadAsync(netns, healthUrl, TimeSpan.FromSeconds(3), ct);
        (IReadOnlyList<string> tables, string? nftError) = await nft;
        var status = new NodeStatus(netns, view, tables, nftError, health);
        if (c.Output == "json")
        {
            c.Out.Write(NodeJsonContext.Write(NodeStatusView.ToJson(status, c.Now)));
        }
        else
        {
            NodeStatusView.WriteText(c.Out, status, c.Now, wide: c.Output == "wide");
        }

        return view.Matches ? OverlayCtl.Done : OverlayCtl.Failed;
    }

    public static async Task<int> TraceAsync(CliContext c, CancellationToken ct)
    {
        string? netns = NetnsFlag(c);
        IPAddress source = Address(c.Arguments[0], "SRC");
        IPAddress destination = Address(c.Arguments[1], "DST");
        NetworkConfig config = await ConfigCommands.StoredConfigAsync(c, "trace reads the network from it", ct);
        IReadOnlyList<Lease> leases = (await c.Store.ListAsync(withExpiration: false, ct)).Leases;

        // Which service a ClusterIP belongs to, and its endpoints, before the kernel is read: each is asked about.
        TraceEnd destinationEnd = PathTrace.Resolve(destination, config, leases, own: null);
        TracedService? service = null;
        if (destinationEnd.Lease is null)
        {
            service = await ServiceOfAsync(c, destination, ct);
        }

        List<IPAddress> targets = service is null
            ? [destination]
            : [.. service.Ports.SelectMany(p => p.Endpoints).Select(e => e.Address).Distinct()];
        (KernelSnapshot kernel, NodeView view) = Inspect(c, netns, config, leases, targets);

        TraceEnd sourceEnd = PathTrace.Resolve(source, config, leases, view.Own);
        if (view.Own is not null && sourceEnd.Lease is not null && !sourceEnd.ThisNode)
        {
            throw new UsageException($"SRC {source} is on node {sourceEnd.NodeAddress} (lease {NodeComparison.LeaseName(sourceEnd.Lease.Subnet)}), but this kernel is node {view.Own.Attributes.PublicIP}'s (lease {NodeComparison.LeaseName(view.Own.Subnet)}): "
                + "run trace on that node, or point --netns at its namespace");
        }

        if (view.Own is not null && sourceEnd.Lease is null)
        {
            throw new UsageException($"SRC {source} is in no lease's subnet and is no node's address; give a pod or node address of this node ({NodeComparison.LeaseName(view.Own.Subnet)}, {view.Own.Attributes.PublicIP})");
        }

        destinationEnd = PathTrace.Resolve(destination, config, leases, view.Own);
        string? refusal = null;
        List<TracedPath> paths = [];
        if (view.Own is null)
        {
            refusal = view.OwnFoundBy;
        }
        else if (destinationEnd.Kind == EndKind.ClusterIP && service is null)
        {
            refusal = $"no service has the ClusterIP {destination}";
        }
        else if (service is not null && targets.Count == 0)
        {
            refusal = $"the service {service.Service.FullName} has no endpoints: connections to {destination} are refused";
        }
        else
        {
            paths = targets.Select(t => PathTrace.To(PathTrace.Resolve(t, config, leases, view.Own), view, kernel)).ToList();
        }

        var trace = new TraceReport(sourceEnd, destinationEnd, service, paths, refusal);
        if (c.Output == "json")
        {
            c.Out.Write(NodeJsonContext.Write(TraceView.ToJson(trace)));
        }
        else
        {
            TraceView.WriteText(c.Out, trace);
        }

        return trace.Whole ? OverlayCtl.Done : OverlayCtl.Failed;
    }

    /// <summary>Reads the kernel (asking it about <paramref name="targets"/> and, with DirectRouting, every node) and compares it with etcd.</summary>
    private static (KernelSnapshot Kernel, NodeView View) Inspect(CliContext c, string? netns, NetworkConfig config, IReadOnlyList<Lease> leases, IReadOnlyList<IPAddress> targets)
    {
        SubnetKey? named = null;
        if (c.Flag(Subnet) is { } text)
        {
            SubnetArgument argument = SubnetArgument.Parse(text);
            named = leases.FirstOrDefault(l => argument.Matches(l.Subnet))?.Subnet ?? argument.Key;
        }

        IReadOnlyList<VxlanFamily> families = VxlanFamily.Of(config);
        IEnumerable<IPAddress> nodes = config.Backend.DirectRouting
            ? leases.SelectMany(l => new[] { l.Attributes.PublicAddress, l.Attributes.PublicAddressV6 }).OfType<IPAddress>()
            : [];
        KernelSnapshot kernel;
        try
        {
            kernel = NodeKernel.Read(netns, families.Select(f => f.DeviceName), [.. targets, .. nodes]);
        }
        catch (NetlinkException e)
        {
            throw new CommandFailedException($"cannot read the kernel{(netns is null ? "" : " of " + netns)}: {e.Message}", e);
        }
        catch (IOException e) when (netns is not null)
        {
            throw new CommandFailedException($"cannot enter the network namespace {netns}: {e.Message}", e);
        }

        return (kernel, NodeComparison.Compare(config, leases, kernel, named));
    }

    /// <summary>The service whose ClusterIP is <paramref name="address"/>, with the endpoints every overlayd computes for it.</summary>
    private static async Task<TracedService?> ServiceOfAsync(CliContext c, IPAddress address, CancellationToken ct)
    {
        ServiceListing listing = await c.Services.ListAsync(null, ct);
        ServiceSpec? service = listing.Services.FirstOrDefault(s => address.Equals(s.ClusterIP) || address.Equals(s.ClusterIPv6));
        if (service is null)
        {
            return null;
        }

        var pods = new List<PodRecord>();
        if (service.Selector is not null)
        {
            using var registry = new PodRegistry(c.Store.Session, TimeSpan.FromSeconds(30));
            pods.AddRange((await registry.ListAsync(ct)).Select(e => e.Pod).OfType<PodRecord>());
        }

        IReadOnlyList<PortEndpointRows> rows = ServiceEndpointsView.Rows(service, pods);
        // Only the endpoints of the ClusterIP's family: the other family's ClusterIP has its own.
        return new TracedService(service, rows.Select(r => r with { Endpoints = r.Endpoints.Where(e => e.Address.AddressFamily == address.AddressFamily).ToList() }).ToList());
    }

    private static string? NetnsFlag(CliContext c)
    {
        if (c.Flag(Netns) is not { } netns)
        {
            return null;
        }

        string path = netns.Contains('/', StringComparison.Ordinal) ? netns : NamedNetworkNamespace.RunDirectory + "/" + netns;
        return File.Exists(path)
            ? netns
            : throw new UsageException($"flag --netns: network namespace {path} does not exist; give a name under {NamedNetworkNamespace.RunDirectory} ('ip netns list') or a path such as /proc/PID/ns/net");
    }

    private static Uri? HealthFlag(CliContext c)
    {
        string? text = c.Flag(HealthUrl);
        if (text is null or "off")
        {
            return null;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out Uri? url) && url.Scheme == "http"
            ? url
            : throw new UsageException($"flag --health-url: '{text}' is not an http URL; give e.g. http://192.0.2.11:{DefaultHealthPort}, or off");
    }

    /// <summary>http://PublicIP:9100 of this node's lease, else of the device's local address; null when neither is known.</summary>
    private static Uri? DefaultHealthUrl(NodeView view)
    {
        IPAddress? address = view.Own?.Attributes.PublicAddress
            ?? view.Devices.Select(d => d.Link?.Vxlan?.Local).FirstOrDefault(a => a is not null);
        if (address is null)
        {
            return null;
        }

        string host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return new Uri($"http://{host}:{DefaultHealthPort.ToString(CultureInfo.InvariantCulture)}/");
    }

    private static IPAddress Address(string text, string name) =>
        IPAddress.TryParse(text, out IPAddress? address) && text.Contains(address.AddressFamily == AddressFamily.InterNetworkV6 ? ':' : '.', StringComparison.Ordinal)
            ? address
            : throw new UsageException($"{name} '{text}' is not an IP address; give a pod's or node's address, e.g. 198.18.1.5");
}
