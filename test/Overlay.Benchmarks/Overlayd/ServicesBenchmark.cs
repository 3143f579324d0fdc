using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Core.Processes;
using Overlay.Core.Services;
using Overlay.Daemon.Services;
using Overlay.TestKit;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// The service network at scale: S services × E endpoints (explicit endpoints in the pod network) and P peers put in
/// etcd, then one overlayd. Measured: cold start (process start → the last service element live, seen by
/// <c>nft monitor</c> in the node), programming latency (a service or endpoint change put → its element live, seen by
/// the monitor: no sleeps, no polling of the table), the data path (connect + reply through a ClusterIP vs straight to
/// the pod, with everything loaded), VmRSS after the last change, and, in a scratch namespace on the same machine,
/// kube-proxy's rule shape against ours for a full load and a one-service change.
/// </summary>
internal static class ServicesBenchmark
{
    public const string ServiceNetwork = "198.19.0.0/16";
    internal const string Namespace = "bench";
    private static readonly TimeSpan ChangeTimeout = TimeSpan.FromSeconds(10);

    public static async Task<int> Run(string[] args)
    {
        int services = Option(args, "--services", 10_000);
        int endpoints = Option(args, "--endpoints", 3);
        int peers = Option(args, "--peers", 5000);
        int trials = Option(args, "--trials", 100);
        int settle = Option(args, "--settle", 20);
        int requests = Option(args, "--requests", 2000);
        if (!RequireRoot("services"))
        {
            return 1;
        }

        foreach (string overlayd in OverlaydPaths(args))
        {
            var table = new Table(string.Create(CultureInfo.InvariantCulture,
                $"services: {Path.GetFileName(overlayd)}, {services} services × {endpoints} endpoints, {peers} peers, {Machine()}"));
            await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
            {
                Overlayd = overlayd,
                Nodes = 0,
                NetworkConfig = "{\"Network\":\"" + PodNetwork + "\",\"ServiceNetwork\":\"" + ServiceNetwork + "\",\"Backend\":{\"Type\":\"vxlan\"}}",
                Prefix = Prefix,
                StartDaemons = false,
            });
            using NamespacedEtcd etcd = EtcdClient(cluster);
            long lease = await etcd.GrantAsync(TimeSpan.FromHours(24));
            await LoadLeasesAsync(etcd, peers, lease);
            var clock = Stopwatch.StartNew();
            await etcd.PutAllAsync(Enumerable.Range(0, services).SelectMany(i => ServiceKeys(Service(i, endpoints))).ToList(), 0);
            Console.Error.WriteLine($"put {services} services in {clock.ElapsedMilliseconds} ms");

            ClusterNode node = cluster.AddNode();
            using var monitor = new NftMonitor(node.Ns.Name);
            Process daemon = node.StartDaemon();
            DateTime started = daemon.StartTime.ToUniversalTime();
            (DateTime allLive, double queryMs) = WaitForAllClusterIPs(node, services, TimeSpan.FromSeconds(120))
                ?? throw new TimeoutException($"overlayd did not load {services} services:\n{node.DaemonOutput}");
            table.Add("cold start: process start → every ClusterIP live (ms)", (allLive - started).TotalMilliseconds, "≤ 2000 ms");
            table.Add("  (resolution: one probe of every ClusterIP, ms)", queryMs);
            Thread.Sleep(2000);

            // Programming latency: new services (and their removal), and one endpoint replaced in an existing service.
            for (int trial = 0; trial < trials; trial++)
            {
                ServiceSpec added = Service(services + trial, endpoints);
                long put = Stopwatch.GetTimestamp();
                DateTime sent = DateTime.UtcNow;
                await etcd.PutAllAsync(ServiceKeys(added).ToList(), 0);
                if (monitor.WaitFor(sent, $"add element ip {ServiceRuleset.Table} service-ips {{ {added.ClusterIP} . tcp . 80", ChangeTimeout) is { } live)
                {
                    table.Add("service put → its element live (ms)", (live - sent).TotalMilliseconds, "p99 ≤ 20 ms");
                }

                ServiceSpec changed = Service(trial, endpoints) with { Endpoints = [.. Service(trial, endpoints).Endpoints!.Skip(1), new ServiceEndpoint(EndpointAddress(trial, 99), 8080)] };
                sent = DateTime.UtcNow;
                await etcd.PutAsync(RegistryKeys.Service(Prefix, Namespace, changed.Name), ServiceCodec.Serialize(changed), 0);
                if (monitor.WaitFor(sent, $"{EndpointAddress(trial, 99)} . 8080", ChangeTimeout) is { } moved)
                {
                    table.Add("endpoint changed → new backend live (ms)", (moved - sent).TotalMilliseconds, "p99 ≤ 20 ms");
                }

                sent = DateTime.UtcNow;
                await etcd.DeleteAsync(RegistryKeys.Service(Prefix, Namespace, added.Name));
                await etcd.DeleteAsync(RegistryKeys.ClusterIP(Prefix, added.ClusterIP!));
                if (monitor.WaitFor(sent, $"delete element ip {ServiceRuleset.Table} service-ips {{ {added.ClusterIP} . tcp . 80", ChangeTimeout) is { } gone)
                {
                    table.Add("service deleted → its element gone (ms)", (gone - sent).TotalMilliseconds);
                }

                _ = put;
            }

            // The data path, with everything loaded: a pod serving on 8080 and a client pod, both on the node.
            await MeasureDataPathAsync(cluster, node, etcd, table, requests);

            Thread.Sleep(TimeSpan.FromSeconds(settle));
            (double rss, double hwm) = Memory(daemon.Id);
            table.Add($"VmRSS {settle} s after the last change (MiB)", rss, "≤ 40 MB");
            table.Add("VmHWM (MiB)", hwm);
            foreach (string line in node.Ns.Exec("curl", "-s", $"http://{node.UnderlayAddress}:9100/metrics").StdOut.Split('\n')
                .Where(l => l.StartsWith("overlay_gc_", StringComparison.Ordinal) || l.StartsWith("overlay_service", StringComparison.Ordinal)))
            {
                Console.Error.WriteLine("metric: " + line);
            }
            table.Print();
            Console.WriteLine($"overlayd still running: {!daemon.HasExited}");
            if (args.Contains("--log"))
            {
                Console.Error.WriteLine(node.DaemonOutput);
            }

            if (!args.Contains("--skip-kubeproxy"))
            {
                await CompareShapesAsync(cluster, services, endpoints, Option(args, "--shape-rounds", 3));
            }
        }

        return 0;
    }

    /// <summary>
    /// Polls the node's cluster-ips set (`nft list set`, a process in the node), which a full load fills last: when it
    /// holds every service's ClusterIP, every service is live. Returns that moment and how long one listing takes
    /// (the resolution).
    /// </summary>
    internal static (DateTime At, double QueryMs)? WaitForAllClusterIPs(ClusterNode node, int services, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            long start = Stopwatch.GetTimestamp();
            CommandResult listed = node.Ns.Exec("nft", "list", "set", "ip", ServiceRuleset.Table, "cluster-ips");
            if (listed.ExitCode == 0 && listed.StdOut.Split("198.19.").Length - 1 >= services)
            {
                return (DateTime.UtcNow, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }

            Thread.Sleep(10);
        }

        return null;
    }

    /// <summary>Service i: ClusterIP above the static band (198.19.1.0 + i), port 80/tcp → 8080, E explicit endpoints in the fake peers' subnets.</summary>
    internal static ServiceSpec Service(int index, int endpoints) => new()
    {
        Namespace = Namespace,
        Name = "svc-" + index.ToString(CultureInfo.InvariantCulture),
        ClusterIP = ClusterIP(index),
        Ports = [new ServicePort("http", 80, 8080, ServiceProtocol.Tcp)],
        Endpoints = [.. Enumerable.Range(0, endpoints).Select(j => new ServiceEndpoint(EndpointAddress(index, j), 8080))],
    };

    internal static IPAddress ClusterIP(int index) => new([198, 19, (byte)(1 + (index >> 8)), (byte)(index & 0xff)]);

    /// <summary>An address in fake peer (i·7 + j) mod 5000's subnet, host .10 + j.</summary>
    private static IPAddress EndpointAddress(int index, int j)
    {
        IPNetwork subnet = FakeLease((index * 7 + j) % 5000).Subnet;
        byte[] bytes = subnet.BaseAddress.GetAddressBytes();
        bytes[3] = (byte)(10 + j);
        return new IPAddress(bytes);
    }

    internal static IEnumerable<KeyValuePair<string, string>> ServiceKeys(ServiceSpec service) =>
    [
        KeyValuePair.Create(RegistryKeys.Service(Prefix, service.Namespace, service.Name), ServiceCodec.Serialize(service)),
        KeyValuePair.Create(RegistryKeys.ClusterIP(Prefix, service.ClusterIP!), service.FullName),
    ];

    private static async Task MeasureDataPathAsync(OverlayCluster cluster, ClusterNode node, NamespacedEtcd etcd, Table table, int requests)
    {
        NetNs server = node.AddPod();
        string serverAddress = node.PodAddress;
        NetNs client = AddSecondPod(cluster, node);
        await using EchoServer echo = EchoServer.Start(server.Name, "backend", 8080);
        var service = new ServiceSpec
        {
            Namespace = Namespace,
            Name = "echo",
            ClusterIP = IPAddress.Parse("198.19.0.200"),
            Ports = [new ServicePort(null, 80, 8080, ServiceProtocol.Tcp)],
            Endpoints = [new ServiceEndpoint(IPAddress.Parse(serverAddress), null)],
        };
        await etcd.PutAllAsync(ServiceKeys(service).ToList(), 0);
        Poll.Until(() => EchoClient.AskTcpAsync(client.Name, "198.19.0.200", 80, TimeSpan.FromMilliseconds(300)).GetAwaiter().GetResult().Answered, TimeSpan.FromSeconds(10));

        var direct = new List<double>(requests);
        var throughService = new List<double>(requests);
        for (int i = 0; i < requests; i++)
        {
            // Alternating, so that both see the same machine.
            direct.Add(await TimeAsync(client.Name, serverAddress, 8080));
            throughService.Add(await TimeAsync(client.Name, "198.19.0.200", 80));
        }

        foreach (double value in direct)
        {
            table.Add("connect + reply, straight to the pod (ms)", value);
        }

        foreach (double value in throughService)
        {
            table.Add("connect + reply, through the ClusterIP (ms)", value, "≤ 1.1 × straight");
        }

        double ratio = Percentile([.. throughService.Order()], 50) / Percentile([.. direct.Order()], 50);
        table.Add("p50 ratio ClusterIP / straight", ratio, "≤ 1.1");
    }

    private static async Task<double> TimeAsync(string ns, string address, int port)
    {
        long start = Stopwatch.GetTimestamp();
        EchoReply reply = await EchoClient.AskTcpAsync(ns, address, port);
        if (!reply.Answered)
        {
            throw new IOException($"{address}:{port} from {ns}: {reply}");
        }

        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>A second pod namespace on the node's bridge, with the subnet's .3.</summary>
    private static NetNs AddSecondPod(OverlayCluster cluster, ClusterNode node)
    {
        string[] gateway = node.Subnet.Split('/');
        byte[] bytes = IPAddress.Parse(gateway[0]).GetAddressBytes();
        bytes[3] += 2;
        NetNs pod = cluster.Lab.AddNamespace("c" + node.Number.ToString(CultureInfo.InvariantCulture));
        cluster.Lab.AddVethPair(pod, node.Ns, "eth0", "vethc" + node.Number.ToString(CultureInfo.InvariantCulture));
        cluster.Lab.AttachToBridge(node.Ns, "vethc" + node.Number.ToString(CultureInfo.InvariantCulture), "cni0");
        pod.AddAddress("eth0", $"{new IPAddress(bytes)}/{gateway[1]}");
        pod.ExecChecked("ip", "route", "add", "default", "via", gateway[0]);
        return pod;
    }

    /// <summary>
    /// Same machine, same run: a full load and a one-service addition in kube-proxy's shape and in ours, in a scratch
    /// namespace, timed around each `nft -f` (ours: every transaction of the split load).
    /// </summary>
    private static async Task CompareShapesAsync(OverlayCluster cluster, int services, int endpoints, int rounds)
    {
        NetNs scratch = cluster.Lab.AddNamespace("shape");
        var network = IPNetwork.Parse(ServiceNetwork);
        IReadOnlyList<IPNetwork> pods = [IPNetwork.Parse(PodNetwork)];
        ServiceRulesInput Input(int count)
        {
            var frontends = new Dictionary<Frontend, IReadOnlyList<Backend>>();
            var ips = new HashSet<IPAddress>();
            for (int i = 0; i < count; i++)
            {
                ServiceSpec s = Service(i, endpoints);
                frontends[new Frontend(s.ClusterIP!, ServiceProtocol.Tcp, 80)] = [.. s.Endpoints!.Select(e => new Backend(e.Address, 8080))];
                ips.Add(s.ClusterIP!);
            }

            return new ServiceRulesInput(network, pods, frontends, ips);
        }

        ServiceRulesInput full = Input(services);
        ServiceRulesInput plusOne = Input(services + 1);
        var table = new Table($"rule shapes: {services} services × {endpoints} endpoints, nft -f in a scratch namespace, {Machine()}");

        var ours = new ServiceTable(AddressFamily.InterNetwork, NftCommand.InNamespace(scratch.Name));
        var kube = new NftCommand("ip", ["netns", "exec", scratch.Name, "nft"]);
        for (int round = 0; round < rounds; round++)
        {
            ours.Invalidate();
            long start = Stopwatch.GetTimestamp();
            await ours.ApplyAsync(full, CancellationToken.None);
            table.Add("ours: full load (ms)", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            start = Stopwatch.GetTimestamp();
            await ours.ApplyAsync(plusOne, CancellationToken.None);
            table.Add("ours: add one service (ms)", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            await ours.ApplyAsync(full, CancellationToken.None);

            start = Stopwatch.GetTimestamp();
            await RunNftAsync(kube, KubeProxyShape.Render(full));
            table.Add("kube-proxy shape: full load (ms)", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            Frontend extra = plusOne.Frontends.Keys.First(f => !full.Frontends.ContainsKey(f));
            start = Stopwatch.GetTimestamp();
            await RunNftAsync(kube, KubeProxyShape.RenderAddition(AddressFamily.InterNetwork, pods, extra, plusOne.Frontends[extra]));
            table.Add("kube-proxy shape: add one service (ms)", Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        table.Print();
    }

    private static async Task RunNftAsync(NftCommand nft, string script) =>
        (await ChildProcess.RunAsync(nft.File, [.. nft.Prefix, "-f", "-"], script, timeout: TimeSpan.FromMinutes(10))).EnsureSuccess();

    /// <summary>
    /// `nft monitor` in a namespace: every line with the time it arrived. Counts the service-ips elements added, and
    /// finds the first line after a moment that contains a text.
    /// </summary>
    private sealed class NftMonitor : IDisposable
    {
        private readonly Process _process;
        private readonly List<(DateTime At, string Line)> _lines = [];
        private int _serviceElements;

        public NftMonitor(string ns)
        {
            _process = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", ns, "stdbuf", "-oL", "nft", "monitor"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            })!;
            _process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is not { } line)
                {
                    return;
                }

                lock (_lines)
                {
                    _lines.Add((DateTime.UtcNow, line));
                    if (line.StartsWith($"add element ip {ServiceRuleset.Table} service-ips ", StringComparison.Ordinal))
                    {
                        _serviceElements += line.Split(" : goto ").Length - 1;
                    }
                }
            };
            _process.BeginOutputReadLine();
            Thread.Sleep(300); // the monitor subscribes before anything is loaded
        }

        public int ServiceElements
        {
            get
            {
                lock (_lines)
                {
                    return _serviceElements;
                }
            }
        }

        /// <summary>When the count of service-ips elements added reached <paramref name="count"/>.</summary>
        public DateTime? WaitForCount(int count, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                lock (_lines)
                {
                    if (_serviceElements >= count)
                    {
                        return _lines[^1].At;
                    }
                }

                Thread.Sleep(5);
            }

            return null;
        }

        public DateTime? WaitFor(DateTime after, string text, TimeSpan timeout)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                lock (_lines)
                {
                    for (int i = _lines.Count - 1; i >= 0 && _lines[i].At >= after; i--)
                    {
                        if (_lines[i].Line.Contains(text, StringComparison.Ordinal))
                        {
                            return _lines[i].At;
                        }
                    }
                }

                Thread.Sleep(1);
            }

            Console.Error.WriteLine($"not seen within {timeout.TotalSeconds} s: {text}");
            return null;
        }

        public void Dispose()
        {
            try
            {
                _process.Kill();
            }
            catch (InvalidOperationException)
            {
            }

            _process.Dispose();
        }
    }
}
