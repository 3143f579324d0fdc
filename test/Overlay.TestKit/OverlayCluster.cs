using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NUnit.Framework;

namespace Overlay.TestKit;

/// <summary>How to build an <see cref="OverlayCluster"/>.</summary>
public sealed class OverlayClusterOptions
{
    /// <summary>Path of overlayd.dll (run with `dotnet`) or of a native overlayd executable.</summary>
    public required string Overlayd { get; init; }

    public int Nodes { get; init; } = 3;

    public string NetworkConfig { get; init; } = "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}";

    public string Prefix { get; init; } = "/coreos.com/network";

    /// <summary>Extra overlayd flags for every node.</summary>
    public IReadOnlyList<string> DaemonArgs { get; init; } = [];

    /// <summary>Start overlayd on every node right away.</summary>
    public bool StartDaemons { get; init; } = true;

    /// <summary>
    /// Give the switch (2001:db8:1::1/64) and every node (2001:db8:1::11, ::12, ...) an IPv6 underlay address too, and
    /// turn on IPv6 forwarding in the nodes: what a dual-stack network config needs.
    /// </summary>
    public bool IPv6Underlay { get; init; }

    /// <summary>
    /// The resolv.conf of every node namespace (<see cref="NetNs.SetResolvConf"/>), written before its overlayd starts,
    /// e.g. "nameserver 192.0.2.1\n" for a <see cref="Dnsmasq"/> in the switch; null: the nodes read the host's.
    /// </summary>
    public string? NodeResolvConf { get; init; }

    /// <summary>
    /// 1 (the default): one etcd in the switch, <see cref="OverlayCluster.Etcd"/>. More: an <see cref="TestKit.EtcdCluster"/> of
    /// that many members plugged into the switch (<see cref="OverlayCluster.EtcdCluster"/>), and every overlayd given all
    /// their endpoints.
    /// </summary>
    public int EtcdMembers { get; init; } = 1;
}

/// <summary>
/// A cluster on one machine: a "switch" namespace with a bridge (192.0.2.1/24) and a real etcd, and node
/// namespaces on that bridge (192.0.2.11, .12, ...; default route via the switch), each able to run overlayd
/// and to hold a pod namespace on a bridge addressed from the node's subnet.env. Everything is removed on dispose.
/// </summary>
public sealed class OverlayCluster : IAsyncDisposable
{
    public const string SwitchAddress = "192.0.2.1";

    public const string SwitchAddressV6 = "2001:db8:1::1";

    private readonly OverlayClusterOptions _options;
    private readonly string _folder;

    private OverlayCluster(OverlayClusterOptions options, NetworkLab lab, NetNs switchNs, string folder)
    {
        _options = options;
        Lab = lab;
        Switch = switchNs;
        _folder = folder;
    }

    public NetworkLab Lab { get; }

    public NetNs Switch { get; }

    /// <summary>The etcd; with <see cref="OverlayClusterOptions.EtcdMembers"/> above 1, the first member's.</summary>
    public EtcdServer Etcd { get; private set; } = null!;

    /// <summary>The etcd cluster when <see cref="OverlayClusterOptions.EtcdMembers"/> is above 1; else null.</summary>
    public EtcdCluster? EtcdCluster { get; private set; }

    /// <summary>What every overlayd gets as --etcd-endpoints: the one etcd's, or every member's.</summary>
    public string EtcdEndpoints => EtcdCluster?.Endpoints ?? Etcd.Endpoint;

    public List<ClusterNode> Nodes { get; } = [];

    public string Prefix => _options.Prefix;

    public static async Task<OverlayCluster> StartAsync(OverlayClusterOptions options, CancellationToken ct = default)
    {
        NetworkLab lab = NetworkLab.Create();
        string folder = Directory.CreateTempSubdirectory($"ovt-cluster-{Environment.ProcessId}-").FullName;
        OverlayCluster? cluster = null;
        try
        {
            NetNs switchNs = lab.AddNamespace("sw");
            cluster = new OverlayCluster(options, lab, switchNs, folder);
            lab.AddBridge(switchNs, "br0");
            switchNs.AddAddress("br0", SwitchAddress + "/24");
            if (options.IPv6Underlay)
            {
                switchNs.AddAddress("br0", SwitchAddressV6 + "/64");
            }
            if (options.EtcdMembers > 1)
            {
                cluster.EtcdCluster = await EtcdCluster.StartAsync(new EtcdClusterOptions { Lab = lab, Switch = switchNs, Members = options.EtcdMembers }, ct);
                cluster.Etcd = cluster.EtcdCluster.Members[0].Server;
            }
            else
            {
                cluster.Etcd = await EtcdServer.StartAsync(new EtcdServerOptions { Namespace = switchNs, ListenAddress = SwitchAddress }, ct);
            }

            cluster.Etcdctl("put", options.Prefix + "/config", options.NetworkConfig).EnsureSuccess();
            for (int i = 0; i < options.Nodes; i++)
            {
                ClusterNode node = cluster.AddNode();
                if (options.StartDaemons)
                {
                    node.StartDaemon();
                }
            }

            return cluster;
        }
        catch
        {
            if (cluster is not null)
            {
                await cluster.DisposeAsync();
            }
            else
            {
                lab.Dispose();
                Directory.Delete(folder, recursive: true);
            }

            throw;
        }
    }

    /// <summary>Adds a node namespace on the switch (without starting overlayd).</summary>
    public ClusterNode AddNode()
    {
        int number = Nodes.Count + 1;
        NetNs ns = Lab.AddNamespace("n" + number.ToString(CultureInfo.InvariantCulture));
        Lab.AddVethPair(ns, Switch, "eth0", "p" + number.ToString(CultureInfo.InvariantCulture));
        Lab.AttachToBridge(Switch, "p" + number.ToString(CultureInfo.InvariantCulture), "br0");
        string address = $"192.0.2.{10 + number}";
        ns.AddAddress("eth0", address + "/24");
        ns.ExecChecked("ip", "route", "add", "default", "via", SwitchAddress);
        ns.ExecChecked("sysctl", "-qw", "net.ipv4.ip_forward=1");
        string? addressV6 = null;
        if (_options.IPv6Underlay)
        {
            // Forwarding on "all" also sets the default for devices made later (cni0, flannel-v6.1).
            ns.ExecChecked("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1");
            addressV6 = $"2001:db8:1::{10 + number}";
            ns.AddAddress("eth0", addressV6 + "/64");
        }

        if (_options.NodeResolvConf is { } resolvConf)
        {
            ns.SetResolvConf(resolvConf);
        }

        string folder = Path.Combine(_folder, "n" + number.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(folder);
        var node = new ClusterNode(this, ns, number, address, folder) { UnderlayAddressV6 = addressV6 };
        Nodes.Add(node);
        return node;
    }

    internal ProcessStartInfo DaemonCommand(ClusterNode node, IEnumerable<string> extraArgs)
    {
        List<string> args =
        [
            "--etcd-endpoints", EtcdEndpoints,
            "--etcd-prefix", _options.Prefix,
            "--subnet-file", node.SubnetFile,
            "--healthz-ip", node.UnderlayAddress,
            "--healthz-port", "9100",
            .. _options.DaemonArgs,
            .. extraArgs,
        ];
        bool isDll = _options.Overlayd.EndsWith(".dll", StringComparison.Ordinal);
        return new ProcessStartInfo(isDll ? "dotnet" : _options.Overlayd, isDll ? [_options.Overlayd, .. args] : args);
    }

    /// <summary>Every lease in etcd, as key → value JSON, read with etcdctl.</summary>
    public IReadOnlyDictionary<string, string> LeasesInEtcd()
    {
        CommandResult result = Etcdctl("get", "--prefix", _options.Prefix + "/subnets/", "-w", "json").EnsureSuccess();
        using var json = JsonDocument.Parse(result.StdOut);
        var leases = new Dictionary<string, string>(StringComparer.Ordinal);
        if (json.RootElement.TryGetProperty("kvs", out JsonElement kvs))
        {
            foreach (JsonElement kv in kvs.EnumerateArray())
            {
                leases[Base64(kv.GetProperty("key").GetString()!)] = Base64(kv.GetProperty("value").GetString()!);
            }
        }

        return leases;
    }

    /// <summary>etcdctl against the etcd, or against every member of the etcd cluster (so it works with one member down).</summary>
    public CommandResult Etcdctl(params string[] args) => EtcdCluster is { } members ? members.Etcdctl(args) : Etcd.Etcdctl(args);

    private static string Base64(string value) => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(value));

    public async ValueTask DisposeAsync()
    {
        foreach (ClusterNode node in Nodes)
        {
            node.KillDaemon();
        }

        if (EtcdCluster is not null)
        {
            await EtcdCluster.DisposeAsync();
        }

        if (Etcd is not null)
        {
            await Etcd.DisposeAsync();
        }

        Lab.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    /// <summary>Writes every daemon's output and etcd's log to the test output when the test failed.</summary>
    public void AttachLogsIfFailed()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status != NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            return;
        }

        foreach (ClusterNode node in Nodes)
        {
            TestContext.Out.WriteLine($"---- overlayd on {node.Name} ----\n{node.DaemonOutput}");
        }

        if (EtcdCluster is not null)
        {
            EtcdCluster.AttachLogsIfFailed();
        }
        else
        {
            Etcd?.AttachLogIfFailed();
        }
    }
}

/// <summary>One node of an <see cref="OverlayCluster"/>.</summary>
public sealed class ClusterNode
{
    private readonly OverlayCluster _cluster;
    private readonly List<string> _outputs = [];
    private Process? _daemon;
    private NetNs? _pod;

    internal ClusterNode(OverlayCluster cluster, NetNs ns, int number, string underlayAddress, string folder)
    {
        _cluster = cluster;
        Ns = ns;
        Number = number;
        UnderlayAddress = underlayAddress;
        Folder = folder;
    }

    public NetNs Ns { get; }

    public int Number { get; }

    public string Name => "node" + Number.ToString(CultureInfo.InvariantCulture);

    public string UnderlayAddress { get; }

    /// <summary>The node's IPv6 underlay address (2001:db8:1::11, ...) when the cluster has an IPv6 underlay.</summary>
    public string? UnderlayAddressV6 { get; init; }

    public string Folder { get; }

    public string SubnetFile => Path.Combine(Folder, "subnet.env");

    public Process? Daemon => _daemon;

    /// <summary>Everything every overlayd run on this node printed.</summary>
    public string DaemonOutput => string.Join("\n", _outputs.Append(_daemon is null ? "" : ProcessOutput.Of(_daemon)));

    public Process StartDaemon(params string[] extraArgs) => StartDaemon(null, extraArgs);

    /// <summary>Starts overlayd with extra environment variables (e.g. NOTIFY_SOCKET) and flags.</summary>
    public Process StartDaemon(IDictionary<string, string>? environment, params string[] extraArgs)
    {
        if (_daemon is { HasExited: false })
        {
            throw new InvalidOperationException($"overlayd already runs on {Name}");
        }

        if (_daemon is not null)
        {
            _outputs.Add(ProcessOutput.Of(_daemon));
        }

        ProcessStartInfo command = _cluster.DaemonCommand(this, extraArgs);
        _daemon = Ns.Start(command.FileName, command.ArgumentList, environment);
        return _daemon;
    }

    /// <summary>SIGKILL: the daemon gets no chance to clean up.</summary>
    public void KillDaemon()
    {
        if (_daemon is { HasExited: false } running)
        {
            running.Kill(entireProcessTree: true);
            running.WaitForExit(10_000);
        }
    }

    /// <summary>SIGTERM, then waits for the exit code.</summary>
    public int StopDaemon(TimeSpan? timeout = null)
    {
        Process daemon = _daemon ?? throw new InvalidOperationException($"overlayd does not run on {Name}");
        Shell.Run("kill", "-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture));
        if (!WaitForDaemonExit(timeout ?? TimeSpan.FromSeconds(15)))
        {
            throw new TimeoutException($"overlayd on {Name} did not exit after SIGTERM:\n{DaemonOutput}");
        }

        return daemon.ExitCode;
    }

    /// <summary>
    /// True once the daemon has exited and <see cref="DaemonOutput"/> holds all it wrote: the wait returns at the exit,
    /// before the last lines are read from its pipes, so it also waits for the readers to reach the pipes' end.
    /// </summary>
    public bool WaitForDaemonExit(TimeSpan timeout)
    {
        Process daemon = _daemon ?? throw new InvalidOperationException($"overlayd was not started on {Name}");
        if (!daemon.WaitForExit(timeout))
        {
            return false;
        }

        daemon.WaitForExit();
        return ProcessOutput.WaitForEnd(daemon, TimeSpan.FromSeconds(10));
    }

    /// <summary>subnet.env's values, or null while it does not exist.</summary>
    public IReadOnlyDictionary<string, string>? ReadSubnetFile()
    {
        if (!File.Exists(SubnetFile))
        {
            return null;
        }

        return File.ReadAllLines(SubnetFile)
            .Select(l => l.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
    }

    /// <summary>Waits for subnet.env; throws with the daemon's output when it does not come.</summary>
    public IReadOnlyDictionary<string, string> WaitForSubnetFile(TimeSpan? timeout = null)
    {
        if (!Poll.Until(() => ReadSubnetFile() is not null, timeout ?? TimeSpan.FromSeconds(30)))
        {
            throw new TimeoutException($"no {SubnetFile} on {Name}:\n{DaemonOutput}");
        }

        return ReadSubnetFile()!;
    }

    /// <summary>FLANNEL_SUBNET, e.g. "198.18.34.1/24".</summary>
    public string Subnet => WaitForSubnetFile()["FLANNEL_SUBNET"];

    public NetNs? Pod => _pod;

    /// <summary>The pod's address: the node subnet's .2.</summary>
    public string PodAddress { get; private set; } = "";

    /// <summary>The pod's IPv6 address, FLANNEL_IPV6_SUBNET's ::2, when subnet.env has one; else null.</summary>
    public string? PodAddressV6 { get; private set; }

    /// <summary>
    /// A pod as flannel's CNI plugin would make it: bridge cni0 with the subnet's .1 in the node, a pod
    /// namespace with .2 on a veth to it, default route via .1.
    /// </summary>
    public NetNs AddPod()
    {
        string gatewayCidr = Subnet;                     // 198.18.34.1/24
        string[] parts = gatewayCidr.Split('/');
        string gateway = parts[0];
        byte[] octets = System.Net.IPAddress.Parse(gateway).GetAddressBytes();
        octets[3]++;
        PodAddress = new System.Net.IPAddress(octets).ToString();

        NetworkLab lab = _cluster.Lab;
        _pod = lab.AddNamespace("p" + Number.ToString(CultureInfo.InvariantCulture));
        lab.AddBridge(Ns, "cni0");
        Ns.AddAddress("cni0", gatewayCidr);
        lab.AddVethPair(_pod, Ns, "eth0", "veth" + Number.ToString(CultureInfo.InvariantCulture));
        lab.AttachToBridge(Ns, "veth" + Number.ToString(CultureInfo.InvariantCulture), "cni0");
        _pod.AddAddress("eth0", $"{PodAddress}/{parts[1]}");
        _pod.ExecChecked("ip", "route", "add", "default", "via", gateway);

        // Dual stack: the same from FLANNEL_IPV6_SUBNET (e.g. 2001:db8:100:3::1/64): ::1 on cni0, ::2 in the pod.
        if (WaitForSubnetFile().TryGetValue("FLANNEL_IPV6_SUBNET", out string? gatewayCidrV6))
        {
            string[] v6Parts = gatewayCidrV6.Split('/');
            PodAddressV6 = NextAddress(v6Parts[0]);
            Ns.AddAddress("cni0", gatewayCidrV6);
            _pod.AddAddress("eth0", $"{PodAddressV6}/{v6Parts[1]}");
            _pod.ExecChecked("ip", "-6", "route", "add", "default", "via", v6Parts[0]);
        }

        return _pod;
    }

    private static string NextAddress(string address)
    {
        byte[] bytes = System.Net.IPAddress.Parse(address).GetAddressBytes();
        for (int i = bytes.Length - 1; i >= 0 && ++bytes[i] == 0; i--)
        {
        }

        return new System.Net.IPAddress(bytes).ToString();
    }

    /// <summary>The lease's IPv6 network, FLANNEL_IPV6_SUBNET less one ("2001:db8:100:3::/64"); null without IPv6.</summary>
    public string? LeaseSubnetV6
    {
        get
        {
            if (!WaitForSubnetFile().TryGetValue("FLANNEL_IPV6_SUBNET", out string? cidr))
            {
                return null;
            }

            string[] parts = cidr.Split('/');
            return MaskedNetwork(parts[0], int.Parse(parts[1], CultureInfo.InvariantCulture));
        }
    }

    private static string MaskedNetwork(string address, int prefixLength)
    {
        byte[] bytes = System.Net.IPAddress.Parse(address).GetAddressBytes();
        for (int bit = prefixLength; bit < bytes.Length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        }

        return $"{new System.Net.IPAddress(bytes)}/{prefixLength.ToString(CultureInfo.InvariantCulture)}";
    }

    /// <summary>The lease's network, FLANNEL_SUBNET less one: "198.18.34.0/24" for "198.18.34.1/24".</summary>
    public string LeaseSubnet
    {
        get
        {
            string[] parts = Subnet.Split('/');
            byte[] octets = System.Net.IPAddress.Parse(parts[0]).GetAddressBytes();
            octets[3]--;
            return $"{new System.Net.IPAddress(octets)}/{parts[1]}";
        }
    }

    /// <summary>The lease key of this node's subnet in etcd, e.g. "/coreos.com/network/subnets/198.18.34.0-24".</summary>
    /// <remarks>Dual stack appends the IPv6 part: ".../198.18.34.0-24&amp;2001:db8:100:3::-64".</remarks>
    public string LeaseKey => $"{_cluster.Prefix}/subnets/{LeaseSubnet.Replace('/', '-')}{(LeaseSubnetV6 is { } v6 ? "&" + v6.Replace('/', '-') : "")}";
}
