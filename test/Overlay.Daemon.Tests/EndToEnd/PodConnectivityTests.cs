using Overlay.Daemon.Tests.Health;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>Three nodes, a pod on each: the overlay carries pod and node traffic across nodes without NAT.</summary>
[NonParallelizable]
public class PodConnectivityTests : PodClusterFixture
{
    protected override OverlayClusterOptions ClusterOptions() => Daemon.ClusterOptions(args: ["--resync-interval", "5s", "--ip-masq"]);

    [Test]
    public void Every_node_gets_a_distinct_subnet_of_the_network_and_a_flannel_subnet_file()
    {
        var subnets = Cluster.Nodes.Select(n => n.Subnet).ToList();

        Assert.That(subnets, Is.Unique);
        Assert.That(subnets, Has.All.Match(@"^198\.18\.\d+\.1/24$"));
        Assert.That(Cluster.LeasesInEtcd().Keys, Is.EquivalentTo(Cluster.Nodes.Select(n => n.LeaseKey)));
        IReadOnlyDictionary<string, string> env = Cluster.Nodes[0].WaitForSubnetFile();
        Assert.That(env["FLANNEL_NETWORK"], Is.EqualTo("198.18.0.0/16"));
        Assert.That(env["FLANNEL_MTU"], Is.EqualTo("1450"));
        Assert.That(env["FLANNEL_IPMASQ"], Is.EqualTo("true"));
    }

    [Test]
    public void A_pod_reaches_the_pods_on_every_other_node()
    {
        foreach (ClusterNode from in Cluster.Nodes)
        {
            foreach (ClusterNode to in Cluster.Nodes.Where(n => n != from))
            {
                Assert.That(Poll.Until(() => from.Pod!.Ping(to.PodAddress)), Is.True, $"{from.Name} pod -> {to.Name} pod {to.PodAddress}");
            }
        }
    }

    [Test]
    public void A_node_reaches_remote_pods_and_a_pod_reaches_remote_nodes()
    {
        ClusterNode a = Cluster.Nodes[0];
        ClusterNode b = Cluster.Nodes[1];

        Assert.That(Poll.Until(() => a.Ns.Ping(b.PodAddress)), Is.True, "node -> remote pod");
        Assert.That(Poll.Until(() => a.Pod!.Ping(b.UnderlayAddress)), Is.True, "pod -> remote node");
    }

    [Test]
    public void The_receiving_pod_sees_the_sending_pods_own_address()
    {
        ClusterNode from = Cluster.Nodes[0];
        ClusterNode to = Cluster.Nodes[2];
        string table = "seen";
        to.Pod!.ExecChecked("nft", "add", "table", "ip", table);
        to.Pod.ExecChecked("nft", "add", "chain", "ip", table, "in", "{ type filter hook input priority 0; }");
        to.Pod.ExecChecked("nft", "add", "rule", "ip", table, "in", "ip", "saddr", from.PodAddress, "icmp", "type", "echo-request", "counter");

        Assert.That(Poll.Until(() => from.Pod!.Ping(to.PodAddress)), Is.True);

        string counters = to.Pod.ExecChecked("nft", "list", "table", "ip", table).StdOut;
        Assert.That(counters, Does.Match(@"counter packets [1-9]"), "no echo request arrived from the pod's own address (NAT?):\n" + counters);
    }

    [Test]
    public void Each_node_holds_a_neighbour_an_FDB_entry_and_a_route_per_peer()
    {
        ClusterNode node = Cluster.Nodes[0];
        Assert.That(Poll.Until(() => Kernel.RoutesToAll(node, Cluster.Nodes)), Is.True);

        Assert.That(Kernel.Neighbours(node.Ns), Has.Count.EqualTo(2));
        Assert.That(Kernel.Fdb(node.Ns).Select(f => f.Split(' ')[1]), Is.EquivalentTo(new[] { "192.0.2.12", "192.0.2.13" }));
        Assert.That(node.Ns.IpJson("-d", "link", "show", Kernel.Device)[0].GetProperty("mtu").GetInt32(), Is.EqualTo(1450));
        Assert.That(node.Ns.IpJson("addr", "show", "dev", Kernel.Device)[0].GetProperty("addr_info")[0].GetProperty("prefixlen").GetInt32(), Is.EqualTo(32));
    }

    [Test]
    public void The_masquerade_rules_are_in_place_and_come_back_after_a_flush()
    {
        ClusterNode node = Cluster.Nodes[1];
        Assert.That(node.Ns.ExecChecked("nft", "list", "table", "ip", "overlay").StdOut, Does.Contain("masquerade"));

        node.Ns.ExecChecked("nft", "flush", "table", "ip", "overlay");

        Assert.That(Poll.Until(() => node.Ns.Exec("nft", "list", "table", "ip", "overlay").StdOut.Contains("masquerade", StringComparison.Ordinal), TimeSpan.FromSeconds(15)),
            Is.True, "the rules were not restored");
    }

    [Test]
    public void The_health_endpoints_answer_and_the_metrics_count_the_peers()
    {
        ClusterNode node = Cluster.Nodes[2];

        Assert.That(Kernel.HttpGet(node, "/healthz"), Does.StartWith("HTTP/1.1 200"));
        Assert.That(Kernel.HttpGet(node, "/readyz"), Does.StartWith("HTTP/1.1 200"));
        string metrics = Kernel.HttpGet(node, "/metrics");
        Assert.That(metrics, Does.Contain("overlay_peers_programmed 2\n"));
        Assert.That(metrics, Does.Match(@"overlay_lease_expiry_seconds \d+"));
    }

    [Test]
    public void A_running_overlayds_metrics_have_the_pinned_names_help_types_order_and_number_forms()
    {
        // No ServiceNetwork in this cluster: the service families are left out, as before.
        string response = Kernel.HttpGet(Cluster.Nodes[1], "/metrics");
        string body = response[(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];

        // Before the first garbage collection overlay_gc_committed_bytes is left out (no figure exists yet; seen in CI;
        // the rule itself is ProcessMemoryTests'): the shape is compared without it then.
        bool committed = body.Contains("\noverlay_gc_committed_bytes ", StringComparison.Ordinal);
        string[] absent = committed ? MetricsFormatTests.ServiceFamilies : [.. MetricsFormatTests.ServiceFamilies, "overlay_gc_committed_bytes"];

        Assert.That(response, Does.StartWith("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        Assert.That(MetricsFormatTests.Shape(body), Is.EqualTo(MetricsFormatTests.Shape(MetricsFormatTests.WithoutFamilies(MetricsFormatTests.Pinned, absent))));
    }
}
