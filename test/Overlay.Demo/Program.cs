using System.Diagnostics;
using System.Globalization;
using Overlay.TestKit;

// The README's main command: a local cluster of namespaced nodes on a real etcd, overlayd on each node,
// a pod per node; prints the lease table and a pod-to-pod connectivity matrix, then cleans up.
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
Console.WriteLine($"Starting a {nodes}-node cluster: etcd in a switch namespace on 192.0.2.1, nodes on 192.0.2.11..{10 + nodes}, pod network 198.18.0.0/16");
await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
{
    Overlayd = overlayd,
    Nodes = nodes,
    DaemonArgs = ["--ip-masq"],
});

string overlayctl = Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");
string podState = Directory.CreateTempSubdirectory("overlay-demo-pods-").FullName;
var pods = new List<(ClusterNode Node, string Name, string Address)>();

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

    Console.WriteLine("Pods (overlayctl pod run NAME --node NODE --subnet-file NODE/subnet.env --cluster-dns 198.18.0.10):");
    foreach (ClusterNode node in cluster.Nodes)
    {
        string name = $"{cluster.Lab.Prefix}-pod{node.Number}";
        CommandResult run = Shell.Run("dotnet", [overlayctl, "pod", "run", name, "--node", node.Ns.Name, "--subnet-file", node.SubnetFile,
            "--cluster-dns", "198.18.0.10", "--host-alias", $"{node.UnderlayAddress}={node.Name}", .. PodFlags()]);
        Console.Write("  " + run.StdOut);
        run.EnsureSuccess();
        string address = System.Text.RegularExpressions.Regex.Match(run.StdOut, @" with (\d+\.\d+\.\d+\.\d+)/").Groups[1].Value;
        pods.Add((node, name, address));
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
              dotnet {overlayctl} pod list --pod-state-dir {records}
              ip netns exec {cluster.Switch.Name} dotnet {Path.Combine(AppContext.BaseDirectory, "overlayctl.dll")} --etcd-endpoints {cluster.Etcd.Endpoint} leases watch
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
    Console.WriteLine("Cleaning up: removing the pods (CNI DEL), stopping overlayd and etcd, deleting the namespaces.");
    foreach (var pod in pods)
    {
        CommandResult removed = Shell.Run("dotnet", overlayctl, "pod", "rm", pod.Name, "--pod-state-dir", records);
        Console.Write("  " + (removed.ExitCode == 0 ? removed.StdOut : removed.StdErr));
    }

    Directory.Delete(podState, recursive: true);
}

// The lease table as an admin sees it: overlayctl, run where etcd is reachable (the switch namespace).
static string LeaseTable(OverlayCluster cluster) =>
    cluster.Switch.ExecChecked("dotnet", Path.Combine(AppContext.BaseDirectory, "overlayctl.dll"), "--etcd-endpoints", cluster.Etcd.Endpoint, "leases", "list").StdOut;
