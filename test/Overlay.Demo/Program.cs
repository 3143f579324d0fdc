using System.Diagnostics;
using System.Globalization;
using Overlay.TestKit;

// The README's main command: a local cluster of namespaced nodes on a real etcd, overlayd on each node,
// a pod per node; prints the lease table and a pod-to-pod connectivity matrix, then makes a service backed by
// the three pods and connects to its ClusterIP from a pod, then cleans up.
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
            foreach (string name in NetworkLab.ListNamespaceNames().Where(n => n.StartsWith(NetworkLab.NamePrefix, StringComparison.Ordinal)))
            {
                foreach (string pid in Shell.Run("ip", "netns", "pids", name).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    Shell.Run("kill", "-9", pid);
                }

                Shell.Run("ip", "netns", "del", name);
                Console.WriteLine($"removed namespace {name}");
            }

            foreach (string folder in Directory.Exists("/etc/netns") ? Directory.GetDirectories("/etc/netns", NetworkLab.NamePrefix + "*") : [])
            {
                Directory.Delete(folder, recursive: true);
                Console.WriteLine($"removed {folder}");
            }

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
const string ServiceName = "demo";
const int ServicePort = 80;
const int TargetPort = 8080;
Console.WriteLine($"Starting a {nodes}-node cluster: etcd in a switch namespace on 192.0.2.1, nodes on 192.0.2.11..{10 + nodes}, pod network 198.18.0.0/16, service network {ServiceNetwork}");
await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
{
    Overlayd = overlayd,
    Nodes = nodes,
    NetworkConfig = $"{{\"Network\":\"198.18.0.0/16\",\"ServiceNetwork\":\"{ServiceNetwork}\",\"Backend\":{{\"Type\":\"vxlan\"}}}}",
    DaemonArgs = ["--ip-masq"],
});

string overlayctl = Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");
string podState = Directory.CreateTempSubdirectory("overlay-demo-pods-").FullName;
var pods = new List<(ClusterNode Node, string Name, string Address, string Gateway)>();
var servers = new List<EchoServer>();
bool serviceCreated = false;

// Pods as the container runtime makes them: overlayctl pod run creates a namespace and calls the in-box CNI
// plugin ("overlay", beside overlayctl) in the node's namespace; the plugin reads the node's subnet.env and
// delegates to Debian's bridge and host-local plugins.
string records = Path.Combine(podState, "records");
string[] PodFlags() => ["--pod-state-dir", records, "--cni-data-dir", Path.Combine(podState, "cni"), "--ipam-data-dir", Path.Combine(podState, "ipam")];

try
{
    foreach (ClusterNode node in cluster.Nodes)
    {
        node.WaitForSubnetFile();
    }

    Console.WriteLine($"All nodes leased a subnet and wrote subnet.env in {clock.Elapsed.TotalSeconds:F1} s.\n");
    Console.WriteLine($"Leases in etcd (overlayctl --etcd-endpoints {cluster.Etcd.Endpoint} leases list):");
    Console.WriteLine(LeaseTable(cluster));

    Console.WriteLine($"Pods (overlayctl pod run NAME --node NODE --subnet-file NODE/subnet.env --namespace default --label app={ServiceName} --cluster-dns {ClusterDns}):");
    foreach (ClusterNode node in cluster.Nodes)
    {
        string name = $"{cluster.Lab.Prefix}-pod{node.Number}";
        CommandResult run = Shell.Run("dotnet", [overlayctl, "pod", "run", name, "--node", node.Ns.Name, "--subnet-file", node.SubnetFile,
            "--namespace", "default", "--label", "app=" + ServiceName, "--cluster-dns", ClusterDns, "--host-alias", $"{node.UnderlayAddress}={node.Name}", .. PodFlags()]);
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

    // A service backed by the three pods: each pod serves TCP on the target port and answers with its node's
    // name and the client address it saw; overlayd on every node turns the registry into nftables rules.
    foreach (var pod in pods)
    {
        servers.Add(EchoServer.Start(pod.Name, pod.Node.Name, TargetPort));
    }

    Console.WriteLine($"\nA service backed by the pods (overlayctl service create {ServiceName} --port {ServicePort}:{TargetPort} --selector app={ServiceName}):");
    string clusterIP = Ctl("service", "create", ServiceName, "--port", $"{ServicePort}:{TargetPort}", "--selector", "app=" + ServiceName).StdOut.Trim();
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

    if (keep)
    {
        ClusterNode first = cluster.Nodes[0];
        Console.WriteLine($"""

            The cluster keeps running. In another terminal, as root:
              ip netns exec {first.Ns.Name} ip route show dev flannel.1        # routes to the other nodes' subnets
              ip netns exec {first.Ns.Name} ip neigh show dev flannel.1        # their VTEP MACs
              ip netns exec {first.Ns.Name} bridge fdb show dev flannel.1      # where each MAC lives
              cat {first.SubnetFile}
              ip netns exec {pods[0].Name} ping {pods[1].Address}
              ip netns exec {pods[0].Name} getent hosts {first.Name}                 # from the pod's managed hosts file
              ip netns exec {first.Ns.Name} nft list table ip overlay-services   # the service rules (maps, not a chain per service)
              ip netns exec {pods[0].Name} bash -c 'exec 3<>/dev/tcp/{clusterIP}/{ServicePort}; head -1 <&3'   # a connection to the service
              dotnet {overlayctl} pod list --pod-state-dir {records}
              ip netns exec {cluster.Switch.Name} dotnet {overlayctl} --etcd-endpoints {cluster.Etcd.Endpoint} leases watch
              ip netns exec {cluster.Switch.Name} dotnet {overlayctl} --etcd-endpoints {cluster.Etcd.Endpoint} service list
              ip netns exec {cluster.Switch.Name} dotnet {overlayctl} --etcd-endpoints {cluster.Etcd.Endpoint} service endpoints {ServiceName}
            Press Enter (or Ctrl+C) here to tear everything down. If this process was killed instead:
              bash scripts/demo.sh --teardown
            """);
        var stop = new TaskCompletionSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.TrySetResult();
        };
        _ = Task.Run(() =>
        {
            Console.In.ReadLine();
            stop.TrySetResult();
        });
        await stop.Task;
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
}

// overlayctl as an admin runs it, where etcd is reachable (the switch namespace); a failure ends the demo.
CommandResult Ctl(params string[] args) =>
    cluster.Switch.ExecChecked(["dotnet", overlayctl, "--etcd-endpoints", cluster.Etcd.Endpoint, .. args]);

// The lease table as an admin sees it: overlayctl, run where etcd is reachable (the switch namespace).
static string LeaseTable(OverlayCluster cluster) =>
    cluster.Switch.ExecChecked("dotnet", Path.Combine(AppContext.BaseDirectory, "overlayctl.dll"), "--etcd-endpoints", cluster.Etcd.Endpoint, "leases", "list").StdOut;
