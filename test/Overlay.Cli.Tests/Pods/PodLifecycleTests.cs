using System.Net;
using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Pods;

/// <summary>
/// `overlayctl pod run/list/rm` on a two-node OverlayCluster, through the real CNI plugin 'overlay' and Debian's
/// bridge and host-local. iproute2, getent and the files on disk are the oracle. Pods are named with the lab's
/// prefix (a killed run's leftovers are swept by the next lab) and removed in teardown; the CNI and host-local
/// state go to a temp folder.
/// </summary>
[NonParallelizable]
public sealed class PodLifecycleTests
{
    private const string ClusterDns = "198.18.255.10";

    private OverlayCluster cluster = null!;
    private string folder = "";
    private readonly List<string> pods = [];
    private int podCounter;

    private string CniData => Path.Combine(folder, "cni");

    private string IpamData => Path.Combine(folder, "ipam");

    private string State => Path.Combine(folder, "pods");

    private string NodeResolvConf => Path.Combine(folder, "node-resolv.conf");

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        Root.Require();
        // --ip-masq: overlayd masquerades, so subnet.env says FLANNEL_IPMASQ=true and the bridge adds no NAT rules.
        cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = Path.Combine(AppContext.BaseDirectory, "overlayd.dll"),
            Nodes = 2,
            DaemonArgs = ["--resync-interval", "5s", "--ip-masq"],
        });
        foreach (ClusterNode node in cluster.Nodes)
        {
            node.WaitForSubnetFile();
        }
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }

    [SetUp]
    public void CreateFolder()
    {
        folder = Directory.CreateTempSubdirectory($"ovt-pods-{Environment.ProcessId}-").FullName;
        File.WriteAllText(NodeResolvConf, "nameserver 192.0.2.53\nsearch corp.example\noptions timeout:2\n");
    }

    [TearDown]
    public async Task RemovePods()
    {
        cluster?.AttachLogsIfFailed();
        foreach (string pod in pods)
        {
            // pod rm first (it runs DEL in the node); whatever a failed test left beyond that goes directly.
            await Cli.RunAsync("pod", "rm", pod, "--pod-state-dir", State);
            if (NetworkLab.ListNamespaceNames().Contains(pod))
            {
                Shell.Run("ip", "netns", "delete", pod);
            }

            if (Directory.Exists("/etc/netns/" + pod))
            {
                Directory.Delete("/etc/netns/" + pod, recursive: true);
            }
        }

        pods.Clear();
        Directory.Delete(folder, recursive: true);
    }

    [Test]
    public async Task A_pod_gets_an_address_in_its_nodes_subnet_and_the_ClusterFirst_resolv_conf()
    {
        ClusterNode node = cluster.Nodes[0];
        string pod = NewPodName();

        CliResult run = await RunPodAsync(pod, node,
            "--cluster-dns", ClusterDns, "--namespace", "shop", "--search", "extra.example", "--dns-option", "ndots:2", "--dns-option", "edns0");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        IPAddress address = PodAddress(pod);
        Assert.That(NodeSubnet(node).Contains(address), Is.True, $"{address} in {node.Subnet}");
        Assert.That(run.Out, Is.EqualTo($"pod {pod} runs in {node.Ns.Name} with {address}/24 (gateway {node.Subnet.Split('/')[0]})\n"));
        Assert.That(Exec(pod, "cat", "/etc/resolv.conf"), Is.EqualTo(
            $"nameserver {ClusterDns}\n"
            + "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example extra.example\n"
            + "options ndots:2 edns0\n"));
        Assert.That(Exec(pod, "cat", "/etc/nsswitch.conf"), Does.Contain("hosts:          files dns\n"));
        Assert.That(Exec(pod, "cat", "/etc/hosts"), Does.EndWith($"fe00::2\tip6-allrouters\n{address}\t{pod}\n"));
    }

    [Test]
    public async Task Getent_in_the_pod_answers_its_aliases_and_its_own_name_from_the_hosts_file()
    {
        string pod = NewPodName();

        // getent asks for IPv6 first, which the IPv4-only entries do not answer, so DNS is asked too: a
        // nameserver on the pod's loopback refuses at once, where an unreachable one would take its timeouts.
        CliResult run = await RunPodAsync(pod, cluster.Nodes[0], "--dns-policy", "None", "--nameserver", "127.0.0.1",
            "--host-alias", "198.51.100.7=db,db.example", "--host-alias", "203.0.113.9=cache");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(Exec(pod, "getent", "hosts", "db"), Is.EqualTo("198.51.100.7    db db.example\n"));
        Assert.That(Exec(pod, "getent", "hosts", "db.example"), Is.EqualTo("198.51.100.7    db db.example\n"));
        Assert.That(Exec(pod, "getent", "hosts", "cache"), Is.EqualTo("203.0.113.9     cache\n"));
        Assert.That(Exec(pod, "getent", "hosts", pod), Is.EqualTo($"{PodAddress(pod),-15} {pod}\n"));
        Assert.That(Shell.Run("getent", "hosts", "db.example").StdOut, Does.Not.Contain("198.51.100.7"), "the host's own /etc/hosts is untouched");
    }

    [Test]
    public async Task The_bridge_is_made_in_the_node_and_the_pod_reaches_its_gateway()
    {
        ClusterNode node = cluster.Nodes[0];
        string pod = NewPodName();

        CliResult run = await RunPodAsync(pod, node, "--dns-policy", "Default");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        string gateway = node.Subnet.Split('/')[0];
        JsonElement bridge = node.Ns.IpJson("addr", "show", "dev", "cni0");
        Assert.That(bridge[0].GetProperty("addr_info").EnumerateArray().Select(a => a.GetProperty("local").GetString()), Does.Contain(gateway));
        Assert.That(node.Ns.IpJson("link", "show", "master", "cni0").GetArrayLength(), Is.EqualTo(1), "the pod's veth peer on the node's bridge");
        Assert.That(Shell.Run("ip", "-o", "addr", "show", "to", gateway + "/32").EnsureSuccess().StdOut, Is.Empty, "no gateway in the test's own namespace");
        Assert.That(Shell.Run("ip", "netns", "exec", pod, "ping", "-n", "-q", "-c", "1", "-W", "2", gateway).ExitCode, Is.Zero, "pod -> its gateway on cni0");
        Assert.That(Exec(pod, "cat", "/etc/resolv.conf"), Is.EqualTo("nameserver 192.0.2.53\nsearch corp.example\noptions timeout:2\n"));
    }

    [Test]
    public async Task Pods_on_two_nodes_reach_each_other_across_the_overlay()
    {
        string first = NewPodName();
        string second = NewPodName();
        Assert.That((await RunPodAsync(first, cluster.Nodes[0], "--cluster-dns", ClusterDns)).ExitCode, Is.Zero);
        Assert.That((await RunPodAsync(second, cluster.Nodes[1], "--cluster-dns", ClusterDns)).ExitCode, Is.Zero);

        string target = PodAddress(second).ToString();
        Assert.That(Poll.Until(() => Shell.Run("ip", "netns", "exec", first, "ping", "-n", "-q", "-c", "1", "-W", "1", target).ExitCode == 0), Is.True,
            $"{first} -> {second} at {target}");
    }

    [Test]
    public async Task Pod_list_shows_each_pod_with_its_namespace_node_address_and_labels()
    {
        string first = NewPodName();
        string second = NewPodName();
        await RunPodAsync(first, cluster.Nodes[0], "--cluster-dns", ClusterDns, "--namespace", "shop", "--label", "tier=front", "--label", "app=web");
        await RunPodAsync(second, cluster.Nodes[1], "--cluster-dns", ClusterDns);

        CliResult table = await Cli.RunAsync("pod", "list", "--pod-state-dir", State);
        CliResult json = await Cli.RunAsync("pod", "list", "--pod-state-dir", State, "-o", "json");

        string[] lines = table.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Does.Match("^NAMESPACE +NAME +NODE +IP +LABELS$"));
        Assert.That(lines[1], Does.Match($"^shop +{first} +{cluster.Nodes[0].Ns.Name} +{Escape(PodAddress(first))}/24 +app=web,tier=front$"));
        Assert.That(lines[2], Does.Match($"^default +{second} +{cluster.Nodes[1].Ns.Name} +{Escape(PodAddress(second))}/24 +<none>$"));
        using var document = JsonDocument.Parse(json.Out);
        JsonElement listed = document.RootElement.GetProperty("pods")[0];
        Assert.That(listed.GetProperty("name").GetString(), Is.EqualTo(first));
        Assert.That(listed.GetProperty("netns").GetString(), Is.EqualTo("/run/netns/" + first));
        Assert.That(listed.GetProperty("networkConfig").GetProperty("type").GetString(), Is.EqualTo("overlay"));
        Assert.That(listed.GetProperty("namespace").GetString(), Is.EqualTo("shop"));
        Assert.That(listed.GetProperty("labels").GetProperty("app").GetString(), Is.EqualTo("web"));
    }

    [Test]
    public async Task Pod_rm_removes_the_namespace_the_CNI_state_and_the_etc_netns_folder()
    {
        ClusterNode node = cluster.Nodes[1];
        string pod = NewPodName();
        Assert.That((await RunPodAsync(pod, node, "--cluster-dns", ClusterDns)).ExitCode, Is.Zero);
        string address = PodAddress(pod).ToString();
        string lease = Path.Combine(IpamData, "overlay", address);
        Assert.That(File.Exists(Path.Combine(CniData, pod)), Is.True, "the plugin's delegate config");
        Assert.That(File.Exists(lease), Is.True, "host-local's lease");
        int veths = Veths(node);

        CliResult rm = await Cli.RunAsync("pod", "rm", pod, "--pod-state-dir", State);

        Assert.That(rm.ExitCode, Is.Zero, rm.ToString());
        Assert.That(rm.Out, Is.EqualTo($"removed pod {pod} (CNI DEL in {node.Ns.Name}, namespace /run/netns/{pod}, /etc/netns/{pod}, record)\n"));
        Assert.That(NetworkLab.ListNamespaceNames(), Does.Not.Contain(pod));
        Assert.That(Directory.Exists("/etc/netns/" + pod), Is.False);
        Assert.That(File.Exists(Path.Combine(CniData, pod)), Is.False, "the plugin's delegate config");
        Assert.That(File.Exists(lease), Is.False, "host-local's lease");
        Assert.That(File.Exists(Path.Combine(State, pod + ".json")), Is.False);
        Assert.That(Veths(node), Is.EqualTo(veths - 1));
    }

    [Test]
    public async Task A_failed_ADD_leaves_nothing_behind()
    {
        string pod = NewPodName();

        CliResult run = await Cli.RunAsync(
            ["pod", "run", pod, "--node", cluster.Nodes[0].Ns.Name, "--subnet-file", Path.Combine(folder, "missing.env"), "--cluster-dns", ClusterDns,
                "--cni-data-dir", CniData, "--ipam-data-dir", IpamData, "--pod-state-dir", State, "--node-resolv-conf", NodeResolvConf],
            new Dictionary<string, string?>(), "");

        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        Assert.That(run.Err, Does.StartWith($"error: CNI ADD of pod {pod} in {cluster.Nodes[0].Ns.Name} failed: "));
        Assert.That(run.Err, Does.Contain("missing.env"));
        Assert.That(NetworkLab.ListNamespaceNames(), Does.Not.Contain(pod));
        Assert.That(Directory.Exists("/etc/netns/" + pod), Is.False);
        Assert.That(File.Exists(Path.Combine(State, pod + ".json")), Is.False);
    }

    [Test]
    public async Task A_second_run_of_the_same_name_is_refused_and_the_first_pod_stays()
    {
        string pod = NewPodName();
        Assert.That((await RunPodAsync(pod, cluster.Nodes[0], "--cluster-dns", ClusterDns)).ExitCode, Is.Zero);
        string hosts = Exec(pod, "cat", "/etc/hosts");

        CliResult again = await RunPodAsync(pod, cluster.Nodes[1], "--cluster-dns", ClusterDns, "--host-alias", "198.51.100.7=db");

        Assert.That(again.ExitCode, Is.EqualTo(1));
        Assert.That(again.Err, Does.StartWith($"error: pod {pod} exists already"));
        Assert.That(NodeSubnet(cluster.Nodes[0]).Contains(PodAddress(pod)), Is.True);
        Assert.That(Exec(pod, "cat", "/etc/hosts"), Is.EqualTo(hosts));
    }

    [Test]
    public async Task The_built_executable_runs_and_removes_a_pod_with_the_plugin_found_beside_it()
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");
        string pod = NewPodName();

        // No --cni-path: the default starts with overlayctl's own folder, where the build put the plugin.
        CommandResult run = await Shell.RunAsync("dotnet", [dll, "pod", "run", pod, "--node", cluster.Nodes[0].Ns.Path, "--dns-policy", "None", "--nameserver", "127.0.0.1",
            "--host-alias", "198.51.100.7=db", "--subnet-file", cluster.Nodes[0].SubnetFile, "--cni-data-dir", CniData, "--ipam-data-dir", IpamData,
            "--pod-state-dir", State, "--node-resolv-conf", NodeResolvConf]);
        string alias = Exec(pod, "getent", "hosts", "db");
        CommandResult rm = await Shell.RunAsync("dotnet", [dll, "pod", "rm", pod, "--pod-state-dir", State]);

        Assert.That(run.ExitCode, Is.Zero, run.StdErr);
        Assert.That(alias, Is.EqualTo("198.51.100.7    db\n"));
        Assert.That(rm.ExitCode, Is.Zero, rm.StdErr);
        Assert.That(NetworkLab.ListNamespaceNames(), Does.Not.Contain(pod));
    }

    private string NewPodName()
    {
        string pod = $"{cluster.Lab.Prefix}-pod{++podCounter}";
        pods.Add(pod);
        return pod;
    }

    private Task<CliResult> RunPodAsync(string pod, ClusterNode node, params string[] flags) =>
        Cli.RunAsync(
            ["pod", "run", pod, "--node", node.Ns.Name, "--subnet-file", node.SubnetFile, "--cni-path", AppContext.BaseDirectory + ":/usr/lib/cni",
                "--cni-data-dir", CniData, "--ipam-data-dir", IpamData, "--pod-state-dir", State, "--node-resolv-conf", NodeResolvConf, .. flags],
            new Dictionary<string, string?>(), "");

    /// <summary>The pod's IPv4 address on eth0, as iproute2 sees it.</summary>
    private static IPAddress PodAddress(string pod)
    {
        JsonElement addresses = JsonDocument.Parse(Shell.Run("ip", "-n", pod, "-j", "-4", "addr", "show", "dev", "eth0").EnsureSuccess().StdOut).RootElement;
        return IPAddress.Parse(addresses[0].GetProperty("addr_info")[0].GetProperty("local").GetString()!);
    }

    private static IPNetwork NodeSubnet(ClusterNode node)
    {
        // FLANNEL_SUBNET is the subnet's .1 with the /24 of the cluster's config.
        byte[] bytes = IPAddress.Parse(node.Subnet.Split('/')[0]).GetAddressBytes();
        bytes[3] = 0;
        return new IPNetwork(new IPAddress(bytes), 24);
    }

    private static int Veths(ClusterNode node) => node.Ns.IpJson("link", "show", "type", "veth").GetArrayLength();

    private static string Exec(string pod, params string[] argv) => Shell.Run("ip", ["netns", "exec", pod, .. argv]).EnsureSuccess().StdOut;

    private static string Escape(IPAddress address) => address.ToString().Replace(".", "\\.", StringComparison.Ordinal);
}
