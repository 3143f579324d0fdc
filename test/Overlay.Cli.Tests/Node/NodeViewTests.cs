using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Node;

/// <summary>
/// <c>overlayctl node status</c> and <c>overlayctl trace</c> on a real two-node cluster with a real etcd, plus a
/// reservation for a third node that never comes (overlayd programs it all the same). overlayctl runs as a process
/// in node 1's namespace (as on a node) or in the switch's with <c>--netns</c>; entries are broken by hand with
/// ip/bridge while node 1's overlayd is down, and <c>ip -j</c> is the oracle. The tests run in order: the first
/// ones need overlayd running, the later ones stop it.
/// </summary>
[NonParallelizable]
public sealed class NodeViewTests
{
    private const string ReservedSubnet = "198.18.200.0/24";
    private const string ReservedMac = "0e:00:00:00:00:13";
    private const string ReservedNode = "192.0.2.13";
    private const string ServiceNetwork = "198.19.0.0/16";

    private OverlayCluster cluster = null!;
    private ClusterNode node1 = null!;
    private ClusterNode node2 = null!;

    private static string Overlayctl => Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");

    /// <summary>Node 1's subnet, e.g. 198.18.34.0/24.</summary>
    private string Subnet1 => Network(node1.Subnet);

    private string Subnet2 => Network(node2.Subnet);

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        Root.Require();
        cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = Path.Combine(AppContext.BaseDirectory, "overlayd.dll"),
            Nodes = 2,
            NetworkConfig = $"{{\"Network\":\"198.18.0.0/16\",\"ServiceNetwork\":\"{ServiceNetwork}\",\"Backend\":{{\"Type\":\"vxlan\"}}}}",
            DaemonArgs = ["--ip-masq"],
        });
        node1 = cluster.Nodes[0];
        node2 = cluster.Nodes[1];
        node1.WaitForSubnetFile();
        node2.WaitForSubnetFile();
        cluster.Etcdctl("put", $"{cluster.Prefix}/subnets/198.18.200.0-24",
            $"{{\"PublicIP\":\"{ReservedNode}\",\"BackendType\":\"vxlan\",\"BackendData\":{{\"VNI\":1,\"VtepMAC\":\"{ReservedMac}\"}}}}").EnsureSuccess();
        Assert.That(Poll.Until(() => KernelAgreement.Differences(cluster).Count == 0 && HasNeighbour("198.18.200.0"), TimeSpan.FromSeconds(30)),
            Is.True, string.Join("\n", KernelAgreement.Differences(cluster)));
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }
    }

    [TearDown]
    public void AttachLogs() => cluster?.AttachLogsIfFailed();

    [Test, Order(1)]
    public void A_healthy_node_matches_etcd_and_exits_0()
    {
        CommandResult status = OnNode1("node", "status");

        Assert.That(status.ExitCode, Is.Zero, status.ToString());
        string mac = node1.Ns.IpJson("link", "show", "flannel.1")[0].GetProperty("address").GetString()!;
        Assert.That(status.StdOut, Does.Contain($"Device:    flannel.1 VNI 1, local {node1.UnderlayAddress}, port 8472, MAC {mac}, MTU 1450, up, {Subnet1.Replace("/24", "/32", StringComparison.Ordinal)} "));
        Assert.That(status.StdOut, Does.Match(@"Device: .*: ok\n"));
        Assert.That(status.StdOut, Does.Contain($"Lease:     {Subnet1} public IP {node1.UnderlayAddress}, expires in "));
        Assert.That(status.StdOut, Does.Contain("Peers:     2 in etcd: 2 ok, 0 broken, 0 skipped"));
        Assert.That(status.StdOut, Does.Contain("Entries:   0 missing, 0 stale, 0 foreign"));
        Assert.That(status.StdOut, Does.Contain("nftables:  ip overlay"));
        Assert.That(status.StdOut, Does.Contain($"overlayd:  http://{node1.UnderlayAddress}:9100/ ready, 2 peers programmed"));
        Assert.That(status.StdOut, Does.Match($"{Regex(Subnet2)} +{Regex(node2.UnderlayAddress)} +[0-9a-f:]{{17}} +ok +ok +ok +ok"));
        Assert.That(status.StdOut, Does.Match($"{Regex(ReservedSubnet)} +{Regex(ReservedNode)} +{ReservedMac} +ok +ok +ok +ok"));
        Assert.That(status.StdOut, Does.EndWith("Result: the kernel matches etcd\n"));
        TestContext.Out.WriteLine(status.StdOut);
    }

    [Test, Order(2)]
    public void Json_from_another_namespace_has_the_documented_fields()
    {
        CommandResult status = FromSwitch("node", "status", "--netns", node1.Ns.Name, "-o", "json");

        Assert.That(status.ExitCode, Is.Zero, status.ToString());
        using var json = JsonDocument.Parse(status.StdOut);
        JsonElement root = json.RootElement;
        Assert.That(root.GetProperty("matches").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("netns").GetString(), Is.EqualTo(node1.Ns.Name));
        Assert.That(root.GetProperty("lease").GetProperty("subnet").GetString(), Is.EqualTo(Subnet1));
        JsonElement device = root.GetProperty("devices")[0];
        Assert.That(device.GetProperty("name").GetString(), Is.EqualTo("flannel.1"));
        Assert.That(device.GetProperty("mac").GetString(), Is.EqualTo(node1.Ns.IpJson("link", "show", "flannel.1")[0].GetProperty("address").GetString()));
        Assert.That(device.GetProperty("vni").GetInt64(), Is.EqualTo(1));
        Assert.That(device.GetProperty("local").GetString(), Is.EqualTo(node1.UnderlayAddress));
        Assert.That(device.GetProperty("problems").GetArrayLength(), Is.Zero);
        JsonElement counts = root.GetProperty("counts");
        Assert.That(new[] { "peers", "ok", "broken", "skipped", "missing", "stale", "foreign" }.Select(c => counts.GetProperty(c).GetInt32()), Is.EqualTo(new[] { 2, 2, 0, 0, 0, 0, 0 }));
        JsonElement reserved = root.GetProperty("peers").EnumerateArray().Single(p => p.GetProperty("subnet").GetString() == ReservedSubnet);
        Assert.That(reserved.GetProperty("state").GetString(), Is.EqualTo("ok"));
        Assert.That(reserved.GetProperty("fdb").GetProperty("expected").GetString(), Is.EqualTo($"{ReservedMac} dev flannel.1 dst {ReservedNode} self permanent"));
        Assert.That(reserved.GetProperty("route").GetProperty("status").GetString(), Is.EqualTo("ok"));
        Assert.That(root.GetProperty("nftables").GetProperty("tables").EnumerateArray().Select(t => t.GetString()), Does.Contain("ip overlay"));
        JsonElement overlayd = root.GetProperty("overlayd");
        Assert.That(overlayd.GetProperty("ready").GetBoolean(), Is.True);
        Assert.That(overlayd.GetProperty("metrics").GetProperty("overlay_peers_programmed").GetDouble(), Is.EqualTo(2));
        TestContext.Out.WriteLine(status.StdOut);
    }

    [Test, Order(3)]
    public void Trace_to_a_ClusterIP_lists_its_endpoints_and_each_path()
    {
        string remote = Host(Subnet2, 7);
        string local = Host(Subnet1, 9);
        CommandResult created = FromSwitch("service", "create", "web", "--port", "80:8080", "--endpoint", remote + ":8080", "--endpoint", local + ":8080", "--cluster-ip", "198.19.0.80");
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        try
        {
            CommandResult trace = OnNode1("trace", Host(Subnet1, 5), "198.19.0.80");

            // No pod runs on node 1, so no bridge holds its subnet: the local endpoint is unreachable, the remote one is not.
            Assert.That(trace.ExitCode, Is.EqualTo(1), trace.ToString());
            Assert.That(trace.StdOut, Does.Contain("Service:      default/web, ClusterIP 198.19.0.80\n  80/tcp → "));
            Assert.That(trace.StdOut, Does.Contain($"{remote}:8080").And.Contain($"{local}:8080"));
            Assert.That(trace.StdOut, Does.Contain($"To {remote} in {Subnet2}, node {node2.UnderlayAddress}"));
            Assert.That(trace.StdOut, Does.Contain($"Path:         whole: {remote} → route {Subnet2} via "));
            Assert.That(trace.StdOut, Does.Contain($"Path:         {local} is in this node's subnet {Subnet1}, but the kernel sends it via 192.0.2.1 dev eth0: no local bridge (cni0) holds the subnet"));
            Assert.That(trace.StdOut, Does.EndWith($"Result: 1 of 2 endpoints cannot be reached from this node: {local} breaks at the local bridge\n"));
            TestContext.Out.WriteLine(trace.StdOut);
        }
        finally
        {
            FromSwitch("service", "rm", "web", "--yes");
        }
    }

    [Test, Order(4)]
    public void Trace_says_where_the_path_breaks_for_each_entry_broken_by_hand()
    {
        StartFromAKernelThatMatchesEtcd();
        string source = Host(Subnet1, 5);
        string destination = Host(Subnet2, 7);
        string gateway = Host(Subnet2, 0);
        string mac2 = node2.Ns.IpJson("link", "show", "flannel.1")[0].GetProperty("address").GetString()!;

        CommandResult whole = OnNode1("trace", source, destination);
        Assert.That(whole.ExitCode, Is.Zero, whole.ToString());
        Assert.That(whole.StdOut, Does.Contain($"Path:         whole: {destination} → route {Subnet2} via {gateway} dev flannel.1 onlink → neighbour {gateway} is VTEP MAC {mac2} → FDB sends {mac2} to {node2.UnderlayAddress}"));
        Assert.That(whole.StdOut, Does.Contain($"Replies:      need the same entries on node {node2.UnderlayAddress} for {Subnet1}"));
        TestContext.Out.WriteLine(whole.StdOut);

        node1.Ns.ExecChecked("ip", "route", "del", Subnet2);
        CommandResult noRoute = OnNode1("trace", source, destination);
        Assert.That(noRoute.ExitCode, Is.EqualTo(1), noRoute.ToString());
        Assert.That(noRoute.StdOut, Does.Contain($"Result: broken at the route: this node has no route to {Subnet2} through flannel.1 (wanted: {Subnet2} via {gateway} dev flannel.1 onlink); the kernel sends it via 192.0.2.1 dev eth0"));
        TestContext.Out.WriteLine(noRoute.StdOut);
        node1.Ns.ExecChecked("ip", "route", "add", Subnet2, "via", gateway, "dev", "flannel.1", "onlink");

        node1.Ns.ExecChecked("ip", "neigh", "del", gateway, "dev", "flannel.1");
        CommandResult noNeighbour = OnNode1("trace", source, destination, "-o", "json");
        Assert.That(noNeighbour.ExitCode, Is.EqualTo(1), noNeighbour.ToString());
        using (var json = JsonDocument.Parse(noNeighbour.StdOut))
        {
            JsonElement path = json.RootElement.GetProperty("paths")[0];
            Assert.That(json.RootElement.GetProperty("whole").GetBoolean(), Is.False);
            Assert.That(path.GetProperty("breaksAt").GetString(), Is.EqualTo("neighbour"));
            Assert.That(path.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("status").GetString()), Is.EqualTo(new[] { "ok", "missing", "ok" }));
            Assert.That(json.RootElement.GetProperty("verdict").GetString(), Does.StartWith($"broken at the neighbour: flannel.1 has no neighbour entry for {gateway}"));
        }

        node1.Ns.ExecChecked("ip", "neigh", "add", gateway, "lladdr", mac2, "dev", "flannel.1", "nud", "permanent");

        node1.Ns.ExecChecked("bridge", "fdb", "del", mac2, "dev", "flannel.1", "dst", node2.UnderlayAddress);
        CommandResult noFdb = OnNode1("trace", source, destination);
        Assert.That(noFdb.ExitCode, Is.EqualTo(1), noFdb.ToString());
        Assert.That(noFdb.StdOut, Does.Contain($"Result: broken at the fdb: flannel.1 has no FDB entry for {mac2}"));
        TestContext.Out.WriteLine(noFdb.StdOut);

        node1.Ns.ExecChecked("bridge", "fdb", "add", mac2, "dev", "flannel.1", "dst", "192.0.2.99", "self", "permanent");
        CommandResult wrongFdb = OnNode1("trace", source, destination);
        Assert.That(wrongFdb.ExitCode, Is.EqualTo(1), wrongFdb.ToString());
        Assert.That(wrongFdb.StdOut, Does.Contain($"Result: broken at the fdb: the FDB entry for {mac2} is {mac2} dev flannel.1 dst 192.0.2.99 self "));
        Assert.That(wrongFdb.StdOut, Does.Contain($", not {mac2} dev flannel.1 dst {node2.UnderlayAddress} self permanent: encapsulated frames go to the wrong node"));
        TestContext.Out.WriteLine(wrongFdb.StdOut);
        node1.Ns.ExecChecked("bridge", "fdb", "del", mac2, "dev", "flannel.1", "dst", "192.0.2.99");
        node1.Ns.ExecChecked("bridge", "fdb", "add", mac2, "dev", "flannel.1", "dst", node2.UnderlayAddress, "self", "permanent");

        CommandResult repaired = OnNode1("trace", source, destination);
        Assert.That(repaired.ExitCode, Is.Zero, repaired.ToString());
        Assert.That(KernelAgreement.Differences(cluster, [node1]), Is.Empty);
    }

    [Test, Order(5)]
    public void Status_names_each_entry_broken_by_hand_lists_foreign_ones_with_wide_and_exits_1()
    {
        StartFromAKernelThatMatchesEtcd();
        string gateway2 = Host(Subnet2, 0);
        node1.Ns.ExecChecked("ip", "route", "del", Subnet2);
        node1.Ns.ExecChecked("ip", "neigh", "replace", gateway2, "lladdr", "0e:00:00:00:00:99", "dev", "flannel.1", "nud", "permanent");
        node1.Ns.ExecChecked("ip", "neigh", "del", "198.18.200.0", "dev", "flannel.1");
        node1.Ns.ExecChecked("bridge", "fdb", "del", ReservedMac, "dev", "flannel.1", "dst", ReservedNode);
        node1.Ns.ExecChecked("ip", "route", "add", "198.18.250.0/24", "via", "198.18.250.0", "dev", "flannel.1", "onlink");

        CommandResult status = OnNode1("node", "status");
        Assert.That(status.ExitCode, Is.EqualTo(1), status.ToString());
        Assert.That(status.StdOut, Does.Contain("Entries:   3 missing, 1 stale, 1 foreign (listed with -o wide)"));
        Assert.That(status.StdOut, Does.Contain("Peers:     2 in etcd: 0 ok, 2 broken, 0 skipped"));
        Assert.That(status.StdOut, Does.Match($"{Regex(Subnet2)} +{Regex(node2.UnderlayAddress)} +[0-9a-f:]{{17}} +missing +stale +ok +broken"));
        Assert.That(status.StdOut, Does.Match($"{Regex(ReservedSubnet)} +{Regex(ReservedNode)} +{ReservedMac} +ok +missing +missing +broken"));
        Assert.That(status.StdOut, Does.Contain($"overlayd:  http://{node1.UnderlayAddress}:9100/ not reachable"));
        Assert.That(status.StdOut, Does.EndWith("Result: the kernel does not match etcd: 3 missing, 1 stale, 1 foreign; see -o wide\n"));
        Assert.That(status.StdOut, Does.Not.Contain("198.18.250.0/24"));

        CommandResult wide = OnNode1("node", "status", "-o", "wide");
        Assert.That(wide.ExitCode, Is.EqualTo(1), wide.ToString());
        Assert.That(wide.StdOut, Does.Contain($"Missing:\n  route {Subnet2} via {gateway2} dev flannel.1 onlink (lease {Subnet2})\n"));
        Assert.That(wide.StdOut, Does.Contain($"  neighbour 198.18.200.0 lladdr {ReservedMac} dev flannel.1 PERMANENT (lease 198.18.200.0/24)\n"));
        Assert.That(wide.StdOut, Does.Contain($"  fdb {ReservedMac} dev flannel.1 dst {ReservedNode} self permanent (lease 198.18.200.0/24)\n"));
        Assert.That(wide.StdOut, Does.Contain($"Stale:\n  neighbour {gateway2} lladdr 0e:00:00:00:00:99 dev flannel.1 PERMANENT (lease {Subnet2}); should be {gateway2} lladdr "));
        Assert.That(wide.StdOut, Does.Contain("Foreign (on overlayd's devices, for no lease in etcd):\n  route 198.18.250.0/24 via 198.18.250.0 dev flannel.1 onlink\n"));
        TestContext.Out.WriteLine(wide.StdOut);

        CommandResult json = OnNode1("node", "status", "-o", "json", "--health-url", "off");
        Assert.That(json.ExitCode, Is.EqualTo(1), json.ToString());
        using var document = JsonDocument.Parse(json.StdOut);
        Assert.That(document.RootElement.GetProperty("matches").GetBoolean(), Is.False);
        Assert.That(document.RootElement.GetProperty("foreign")[0].GetProperty("actual").GetString(), Is.EqualTo("198.18.250.0/24 via 198.18.250.0 dev flannel.1 onlink"));
        Assert.That(document.RootElement.GetProperty("missing").EnumerateArray().Select(e => e.GetProperty("kind").GetString()), Is.EquivalentTo(new[] { "route", "neighbour", "fdb" }));
        Assert.That(document.RootElement.GetProperty("overlayd").ValueKind, Is.EqualTo(JsonValueKind.Null));

        // overlayd puts it right again, and status agrees.
        node1.StartDaemon();
        Assert.That(Poll.Until(() => KernelAgreement.Differences(cluster, [node1]).Count == 0, TimeSpan.FromSeconds(30)), Is.True, node1.DaemonOutput);
        CommandResult repaired = OnNode1("node", "status", "--health-url", "off");
        Assert.That(repaired.ExitCode, Is.Zero, repaired.ToString());
    }

    [Test, Order(6)]
    public void A_missing_namespace_or_a_bad_address_is_a_usage_error()
    {
        CommandResult netns = FromSwitch("node", "status", "--netns", "ovt-no-such-namespace");
        Assert.That(netns.ExitCode, Is.EqualTo(2), netns.ToString());
        Assert.That(netns.StdErr, Does.Contain("flag --netns: network namespace /run/netns/ovt-no-such-namespace does not exist"));

        CommandResult address = OnNode1("trace", "pod-a", Host(Subnet2, 7));
        Assert.That(address.ExitCode, Is.EqualTo(2), address.ToString());
        Assert.That(address.StdErr, Does.Contain("SRC 'pod-a' is not an IP address"));

        CommandResult elsewhere = OnNode1("trace", Host(Subnet2, 7), Host(Subnet1, 5));
        Assert.That(elsewhere.ExitCode, Is.EqualTo(2), elsewhere.ToString());
        Assert.That(elsewhere.StdErr, Does.Contain($"SRC {Host(Subnet2, 7)} is on node {node2.UnderlayAddress}"));
    }

    /// <summary>Node 1's overlayd is stopped, and its kernel matches etcd (overlayd is run once more if it does not).</summary>
    private void StartFromAKernelThatMatchesEtcd()
    {
        if (KernelAgreement.Differences(cluster, [node1]).Count > 0)
        {
            if (node1.Daemon is not { HasExited: false })
            {
                node1.StartDaemon();
            }

            Assert.That(Poll.Until(() => KernelAgreement.Differences(cluster, [node1]).Count == 0, TimeSpan.FromSeconds(30)), Is.True, node1.DaemonOutput);
        }

        node1.KillDaemon();
        Assert.That(KernelAgreement.Differences(cluster, [node1]), Is.Empty, "the test starts from a kernel that matches etcd");
    }

    private CommandResult OnNode1(params string[] args) =>
        node1.Ns.Exec(["dotnet", Overlayctl, .. args, "--etcd-endpoints", cluster.Etcd.Endpoint]);

    private CommandResult FromSwitch(params string[] args) =>
        cluster.Switch.Exec(["dotnet", Overlayctl, .. args, "--etcd-endpoints", cluster.Etcd.Endpoint]);

    private bool HasNeighbour(string address) =>
        node1.Ns.IpJson("neigh", "show", "dev", "flannel.1").EnumerateArray().Any(n => n.GetProperty("dst").GetString() == address);

    /// <summary>"198.18.34.1/24" → "198.18.34.0/24".</summary>
    private static string Network(string cidr) => System.Net.IPNetwork.Parse(cidr.Split('/')[0] + "/24").ToString();

    /// <summary>The subnet's address + n.</summary>
    private static string Host(string subnet, int n)
    {
        byte[] bytes = System.Net.IPNetwork.Parse(subnet).BaseAddress.GetAddressBytes();
        bytes[3] = (byte)n;
        return new System.Net.IPAddress(bytes).ToString();
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
