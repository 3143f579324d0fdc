using System.Diagnostics;
using System.Globalization;
using Overlay.Demo;
using Overlay.TestKit;

// The README's main command: a local cluster of namespaced nodes on a real etcd, overlayd on each node,
// a pod per node; prints the lease table and a pod-to-pod connectivity matrix, then makes a service backed by
// the three pods and connects to its ClusterIP from a pod, finds it by name through the cluster DNS every overlayd
// answers (names outside the cluster come from an upstream resolver in the switch namespace), then cleans up.
int nodes = 3;
bool keep = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--keep":
            keep = true;
            break;
        case "--nodes" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is >= 2 and <= 50:
            nodes = n;
            i++;
            break;
        case "--teardown":
            // Only what ended demo runs recorded they made: other ovt* namespaces belong to test runs or other demos.
            DemoRun.TearDown(Console.Out);
            return 0;
        default:
            Console.Error.WriteLine($"overlay-demo: unknown argument '{args[i]}'; use --nodes N (2..50), --keep or --teardown");
            return 2;
    }
}

if (!Root.IsRoot)
{
    Console.Error.WriteLine("overlay-demo: run as root (it creates network namespaces)");
    return 1;
}

string overlayd = Path.Combine(AppContext.BaseDirectory, "overlayd.dll");
var clock = Stopwatch.StartNew();
const string ServiceNetwork = "198.19.0.0/16";
const string ClusterDns = "198.19.0.10"; // the service network's .10, kept for cluster DNS as Kubernetes does
const string UpstreamName = "www.example.test"; // answered by the upstream resolver, not by the cluster zone
const string UpstreamAddress = "198.51.100.80";
const string ServiceName = "demo";
const int ServicePort = 80;
const int TargetPort = 8080;
const int HealthPort = 9100; // OverlayCluster starts every overlayd with --healthz-ip NODE --healthz-port 9100
DemoRun demoRun = DemoRun.Begin(); // what this run makes, for --teardown should it be killed
Console.WriteLine($"Starting a {nodes}-node cluster: etcd in a switch namespace on 192.0.2.1, nodes on 192.0.2.11..{10 + nodes}, pod network 198.18.0.0/16, service network {ServiceNetwork}");
await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
{
    Overlayd = overlayd,
    Nodes = nodes,
    NetworkConfig = $"{{\"Network\":\"198.18.0.0/16\",\"ServiceNetwork\":\"{ServiceNetwork}\",\"Backend\":{{\"Type\":\"vxlan\"}}}}",
    DaemonArgs = ["--ip-masq"],
    NodeResolvConf = $"nameserver {OverlayCluster.SwitchAddress}\n", // the nodes' own resolver: dnsmasq in the switch namespace
});

// The nodes' upstream resolver, as a data centre's would be: dnsmasq in the switch namespace, answering example.test.
await using Dnsmasq upstream = await Dnsmasq.StartAsync(new DnsmasqOptions
{
    Namespace = cluster.Switch,
    ListenAddress = OverlayCluster.SwitchAddress,
    HostRecords = [new DnsmasqHostRecord(UpstreamName, UpstreamAddress)],
});

string overlayctl = Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");
demoRun.AddFolder(Path.GetDirectoryName(cluster.Nodes[0].Folder)!);
string podState = Directory.CreateTempSubdirectory("overlay-demo-pods-").FullName;
demoRun.AddFolder(podState);
var pods = new List<(ClusterNode Node, string Name, string Address, string Gateway)>();
var servers = new List<EchoServer>();
bool serviceCreated = false;

// Pods as the container runtime makes them: overlayctl pod run creates a namespace and calls the in-box CNI
// plugin ("overlay", beside overlayctl) in the node's namespace; the plugin reads the node's subnet.env and
// delegates to Debian's bridge and host-local plugins.
string records = Path.Combine(podState, "records");
string nodeResolvConf = Path.Combine(podState, "node-resolv.conf");
File.WriteAllText(nodeResolvConf, $"nameserver {OverlayCluster.SwitchAddress}\n");
string[] PodFlags() => ["--pod-state-dir", records, "--cni-data-dir", Path.Combine(podState, "cni"), "--ipam-data-dir", Path.Combine(podState, "ipam"), "--node-resolv-conf", nodeResolvConf];

try
{
    foreach (ClusterNode node in cluster.Nodes)
    {
        node.WaitForSubnetFile();
    }

    Console.WriteLine($"All nodes leased a subnet and wrote subnet.env in {clock.Elapsed.TotalSeconds:F1} s.\n");
    Console.WriteLine($"Leases in etcd (overlayctl --etcd-endpoints {cluster.Etcd.Endpoint} leases list):");
    Console.WriteLine(LeaseTable(cluster));

    Console.WriteLine($"Pods (overlayctl pod run NAME --node NODE --subnet-file NODE/subnet.env --namespace default --label app={ServiceName}; the cluster DNS address comes from NODE/cluster-dns.env):");
    foreach (ClusterNode node in cluster.Nodes)
    {
        string name = $"{cluster.Lab.Prefix}-pod{node.Number}";
        CommandResult run = Shell.Run("dotnet", [overlayctl, "pod", "run", name, "--node", node.Ns.Name, "--subnet-file", node.SubnetFile,
            "--namespace", "default", "--label", "app=" + ServiceName, "--host-alias", $"{node.UnderlayAddress}={node.Name}", .. PodFlags()]);
        Console.Write("  " + run.StdOut);
        run.EnsureSuccess();
        System.Text.RegularExpressions.Match addressing = System.Text.RegularExpressions.Regex.Match(run.StdOut, @" with (\d+\.\d+\.\d+\.\d+)/\d+ \(gateway (\d+\.\d+\.\d+\.\d+)\)");
        pods.Add((node, name, addressing.Groups[1].Value, addressing.Groups[2].Value));
    }

    Console.WriteLine($"\n/etc/netns/{pods[0].Name}/resolv.conf (ip netns exec mounts it over /etc/resolv.conf):");
    Console.WriteLine(string.Join("\n", File.ReadAllLines($"/etc/netns/{pods[0].Name}/resolv.conf").Select(l => "  " + l)) + "\n");

    Console.WriteLine("Pod-to-pod connectivity (ping from row to column):");
    Console.Write($"{"",-22}");
    foreach (var to in pods)
    {
        Console.Write($"{to.Node.Name + " " + to.Address,-24}");
    }

    Console.WriteLine();
    int failures = 0;
    foreach (var from in pods)
    {
        Console.Write($"{from.Node.Name + " " + from.Address,-22}");
        foreach (var to in pods)
        {
            bool ok = Poll.Until(() => Shell.Run("ip", "netns", "exec", from.Name, "ping", "-c", "1", "-W", "1", to.Address).ExitCode == 0, TimeSpan.FromSeconds(5));
            failures += ok ? 0 : 1;
            Console.Write($"{(ok ? "ok" : "FAIL"),-24}");
        }

        Console.WriteLine();
    }

    Console.WriteLine(failures == 0 ? "\nEvery pod reaches every other pod through the overlay." : $"\n{failures} pod pairs could not reach each other.");

    // What an operator looks at on a node: its kernel against etcd, and one pod-to-pod path through it.
    ClusterNode looked = pods[0].Node;
    Console.WriteLine($"\n{looked.Name}'s kernel against etcd (overlayctl node status --netns {looked.Ns.Name}):");
    CommandResult nodeStatus = cluster.Switch.Exec(["dotnet", overlayctl, "--etcd-endpoints", cluster.Etcd.Endpoint, "node", "status", "--netns", looked.Ns.Name]);
    Console.WriteLine(nodeStatus.StdOut.TrimEnd() + nodeStatus.StdErr.TrimEnd());
    failures += nodeStatus.ExitCode == 0 ? 0 : 1;
    if (pods.Count > 1)
    {
        Console.WriteLine($"\nThe path from {pods[0].Name} to {pods[1].Name} on {looked.Name} (overlayctl trace {pods[0].Address} {pods[1].Address} --netns {looked.Ns.Name}):");
        CommandResult trace = cluster.Switch.Exec(["dotnet", overlayctl, "--etcd-endpoints", cluster.Etcd.Endpoint, "trace", pods[0].Address, pods[1].Address, "--netns", looked.Ns.Name]);
        Console.WriteLine(trace.StdOut.TrimEnd() + trace.StdErr.TrimEnd());
        failures += trace.ExitCode == 0 ? 0 : 1;
    }

    // A service backed by the three pods: each pod serves TCP on the target port and answers with its node's
    // name and the client address it saw; overlayd on every node turns the registry into nftables rules.
    foreach (var pod in pods)
    {
        servers.Add(EchoServer.Start(pod.Name, pod.Node.Name, TargetPort));
    }

    Console.WriteLine($"\nA service backed by the pods (overlayctl service create {ServiceName} --port http:{ServicePort}:{TargetPort} --selector app={ServiceName}):");
    string clusterIP = Ctl("service", "create", ServiceName, "--port", $"http:{ServicePort}:{TargetPort}", "--selector", "app=" + ServiceName).StdOut.Trim();
    serviceCreated = true;
    Console.WriteLine("  ClusterIP " + clusterIP + "\n");
    Console.WriteLine("overlayctl service list:");
    Console.WriteLine(Ctl("service", "list").StdOut);

    // Each overlayd publishes its pods from the CNI plugin's files; wait until etcd has all of them.
    string endpoints = "";
    Poll.Until(() => System.Text.RegularExpressions.Regex.Count(endpoints = Ctl("service", "endpoints", ServiceName).StdOut, @" default/") == pods.Count, TimeSpan.FromSeconds(10));
    Console.WriteLine($"overlayctl service endpoints {ServiceName}:");
    Console.WriteLine(endpoints);

    // From the pod on node1: wait until its node's rules answer at all, then count where each connection lands.
    var client = pods[0];
    int connections = Math.Max(30, 10 * pods.Count); // enough that every pod answers at least once, even with --nodes 50
    await Poll.UntilAsync(async () => (await EchoClient.AskTcpAsync(client.Name, clusterIP, ServicePort, TimeSpan.FromMilliseconds(500))).Answered, TimeSpan.FromSeconds(10));
    var replies = new List<EchoReply>(connections);
    for (int i = 0; i < connections; i++)
    {
        replies.Add(await EchoClient.AskTcpAsync(client.Name, clusterIP, ServicePort));
    }

    string perNode = string.Join(", ", pods.Select(p => $"{p.Node.Name} {replies.Count(r => r.Backend == p.Node.Name)}"));
    int unanswered = replies.Count(r => !r.Answered);
    Console.WriteLine($"{connections} connections from {client.Node.Name}'s pod to {ServiceName} ({clusterIP}:{ServicePort}): {perNode}"
        + (unanswered > 0 ? $", unanswered {unanswered} ({string.Join(", ", replies.Where(r => !r.Answered).Select(r => r.Error).Distinct())})" : ""));

    // Pod to pod there is no SNAT: the other backends see the client's own address. The client is a backend too;
    // reaching itself through its service (hairpin) is masqueraded to its gateway, or the reply would never be
    // un-DNATed (docs/services.md, the packet path).
    string Seen(IEnumerable<EchoReply> answers) => string.Join(", ", answers.Select(r => r.SeenClient).Distinct().Order(StringComparer.Ordinal));
    List<EchoReply> fromOthers = replies.Where(r => r.Answered && r.Backend != client.Node.Name).ToList();
    List<EchoReply> fromItself = replies.Where(r => r.Answered && r.Backend == client.Node.Name).ToList();
    bool othersSawClient = fromOthers.All(r => r.SeenClient == client.Address);
    bool itselfSawGateway = fromItself.All(r => r.SeenClient == client.Gateway);
    Console.WriteLine(othersSawClient
        ? $"The backends on the other nodes saw the client's own address {client.Address} (no SNAT between pods);"
        : $"FAIL: the backends on the other nodes saw {Seen(fromOthers)}, not the client's own address {client.Address};");
    Console.WriteLine(itselfSawGateway
        ? $"{client.Node.Name}'s pod, reached by itself through the service (hairpin), saw its gateway {client.Gateway} (masqueraded)."
        : $"FAIL: {client.Node.Name}'s pod, reached by itself through the service (hairpin), saw {Seen(fromItself)}, not its gateway {client.Gateway}.");
    string[] missed = pods.Where(p => replies.All(r => r.Backend != p.Node.Name)).Select(p => p.Node.Name).ToArray();
    if (missed.Length > 0)
    {
        Console.WriteLine($"FAIL: no connection reached the pod on {string.Join(", ", missed)}.");
    }

    failures += unanswered + (othersSawClient ? 0 : 1) + (itselfSawGateway ? 0 : 1) + missed.Length;

    // Cluster DNS: the pod's resolv.conf names 198.19.0.10, which its own node's overlayd answers.
    Console.WriteLine($"\nCluster DNS from {client.Node.Name}'s pod (nameserver {ClusterDns}, answered by {client.Node.Name}'s overlayd):");
    (string Output, long Ms) Lookup(string name)
    {
        var timer = Stopwatch.StartNew();
        string output = Shell.Run("ip", "netns", "exec", client.Name, "getent", "hosts", name).StdOut.Trim();
        return (output, timer.ElapsedMilliseconds);
    }

    Poll.Until(() => Lookup(ServiceName).Output.StartsWith(clusterIP + " ", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
    int dnsFailures = 0;
    foreach ((string name, string expected) in new[] { (ServiceName, clusterIP), ($"{ServiceName}.default.svc.cluster.local", clusterIP), (UpstreamName, UpstreamAddress), ("nowhere.example.test", "") })
    {
        (string output, long ms) = Lookup(name);
        bool ok = expected.Length == 0 ? output.Length == 0 : output.StartsWith(expected + " ", StringComparison.Ordinal);
        dnsFailures += ok ? 0 : 1;
        Console.WriteLine($"  getent hosts {name,-36} {(output.Length == 0 ? "(not found)" : output.Split(' ', 2)[0]),-16} {ms,4} ms{(ok ? "" : "  FAIL")}");
    }

    CommandResult byName = Shell.Run("ip", "netns", "exec", client.Name, "bash", "-c", $"exec 3<>/dev/tcp/{ServiceName}/{ServicePort}; head -1 <&3");
    string answeredBy = pods.Select(p => p.Node.Name).FirstOrDefault(n => byName.StdOut.Contains(n, StringComparison.Ordinal)) ?? "";
    dnsFailures += byName.ExitCode == 0 && answeredBy.Length > 0 ? 0 : 1;
    Console.WriteLine(byName.ExitCode == 0 && answeredBy.Length > 0
        ? $"  a connection to {ServiceName}:{ServicePort} by its short name reached the pod on {answeredBy}"
        : $"  FAIL: a connection to {ServiceName}:{ServicePort} by name: {byName.StdErr.Trim()}");
    failures += dnsFailures;

    if (keep)
    {
        ClusterNode first = cluster.Nodes[0];
        string sw = cluster.Switch.Name;
        string ctl = $"ip netns exec {sw} dotnet {overlayctl} --etcd-endpoints {cluster.Etcd.Endpoint}";
        await using DaemonLogFiles logs = DaemonLogFiles.Start(cluster.Nodes);
        Console.WriteLine($"\nThe cluster keeps running. Each overlayd serves /healthz, /readyz and /metrics on its node's address, reachable from the switch namespace {sw}:");
        foreach (ClusterNode node in cluster.Nodes)
        {
            Console.WriteLine($"  {node.Name}   health http://{node.UnderlayAddress}:{HealthPort}/readyz   metrics http://{node.UnderlayAddress}:{HealthPort}/metrics   log {DaemonLogFiles.PathOf(node)}");
        }

        Console.WriteLine("\nIn another terminal, as root (each command returns at once unless it says otherwise):");
        Console.Write(LookAround.Format(
        [
            new($"ip netns exec {first.Ns.Name} ip route show dev flannel.1", "routes to the other nodes' subnets"),
            new($"ip netns exec {first.Ns.Name} ip neigh show dev flannel.1", "their VTEP MACs"),
            new($"ip netns exec {first.Ns.Name} bridge fdb show dev flannel.1", "where each MAC lives"),
            new($"cat {first.SubnetFile}"),
            new($"ip netns exec {sw} curl -s --max-time 5 http://{first.UnderlayAddress}:{HealthPort}/readyz", $"{first.Name}'s overlayd: ready, and why not when it is not"),
            new($"ip netns exec {sw} curl -s --max-time 5 http://{first.UnderlayAddress}:{HealthPort}/metrics", "its metrics (Prometheus text)"),
            new($"tail -n 20 {DaemonLogFiles.PathOf(first)}", "the end of its log (tail -f to follow it; Ctrl+C ends that)"),
            new($"ip netns exec {pods[0].Name} ping -c 3 {pods[1].Address}", $"pod to pod, {first.Name} to {pods[1].Node.Name}"),
            new($"ip netns exec {pods[0].Name} getent hosts {first.Name}", "from the pod's managed hosts file"),
            new($"ip netns exec {pods[0].Name} getent hosts {ServiceName}", "the service, from cluster DNS"),
            new($"ip netns exec {pods[0].Name} getent hosts {UpstreamName}", "forwarded to the nodes' resolver"),
            new($"ip netns exec {pods[0].Name} dig +time=2 +tries=1 @{ClusterDns} _http._tcp.{ServiceName}.default.svc.cluster.local SRV", "named ports as SRV records"),
            new($"ip netns exec {first.Ns.Name} nft list table ip overlay-services", "the service rules (maps, not a chain per service)"),
            new($"ip netns exec {pods[0].Name} timeout 5 bash -c 'exec 3<>/dev/tcp/{clusterIP}/{ServicePort}; head -1 <&3'", "a connection to the service"),
            new($"dotnet {overlayctl} pod list --pod-state-dir {records}"),
            new($"{ctl} leases list"),
            new($"{ctl} service list"),
            new($"{ctl} service endpoints {ServiceName}"),
            new($"{ctl} leases watch", "one line per lease change", RunsUntilInterrupted: true),
        ]));
        Console.WriteLine($"""

            Press Enter here, or send SIGINT (Ctrl+C) or SIGTERM (kill {Environment.ProcessId}), to tear everything down; without a
            terminal (stdin at its end, e.g. < /dev/null) only the signals do. If this process was killed with SIGKILL instead:
              bash scripts/demo.sh --teardown
            """);
        await Console.Out.FlushAsync();
        (Task<StopReason> signal, IDisposable registrations) = KeepRunning.CatchSignals();
        using (registrations)
        {
            StopReason reason = await KeepRunning.WaitAsync(Console.In, signal);
            Console.WriteLine(reason switch
            {
                StopReason.Enter => "Enter pressed.",
                StopReason.Interrupt => "SIGINT received.",
                _ => "SIGTERM received.",
            });
        }
    }

    return failures == 0 ? 0 : 1;
}
finally
{
    Console.WriteLine("Cleaning up: removing the service and the pods (CNI DEL), stopping overlayd and etcd, deleting the namespaces.");
    if (serviceCreated)
    {
        CommandResult removed = cluster.Switch.Exec("dotnet", overlayctl, "--etcd-endpoints", cluster.Etcd.Endpoint, "service", "rm", ServiceName, "--yes");
        Console.Write("  " + (removed.ExitCode == 0 ? removed.StdOut : removed.StdErr));
    }

    foreach (EchoServer server in servers)
    {
        await server.DisposeAsync();
    }

    foreach (var pod in pods)
    {
        CommandResult removed = Shell.Run("dotnet", overlayctl, "pod", "rm", pod.Name, "--pod-state-dir", records);
        Console.Write("  " + (removed.ExitCode == 0 ? removed.StdOut : removed.StdErr));
    }

    Directory.Delete(podState, recursive: true);
    demoRun.End(); // the cluster's namespaces and folder go with its disposal, which follows
}

// overlayctl as an admin runs it, where etcd is reachable (the switch namespace); a failure ends the demo.
CommandResult Ctl(params string[] args) =>
    cluster.Switch.ExecChecked(["dotnet", overlayctl, "--etcd-endpoints", cluster.Etcd.Endpoint, .. args]);

// The lease table as an admin sees it: overlayctl, run where etcd is reachable (the switch namespace).
static string LeaseTable(OverlayCluster cluster) =>
    cluster.Switch.ExecChecked("dotnet", Path.Combine(AppContext.BaseDirectory, "overlayctl.dll"), "--etcd-endpoints", cluster.Etcd.Endpoint, "leases", "list").StdOut;
