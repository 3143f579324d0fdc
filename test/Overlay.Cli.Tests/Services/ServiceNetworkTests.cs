using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Services;

/// <summary>
/// The service network end to end: three nodes running overlayd on a real etcd, pods made by `overlayctl pod run`
/// through the real CNI plugin (which registers them with their labels), services made by `overlayctl service`
/// (run as processes in the switch namespace, where etcd is), and real TCP and UDP traffic between namespaces.
/// Backends: a pod labelled app=web on node1 and on node2, each running an <see cref="EchoServer"/> on 8080;
/// the client: a pod on node3. nftables, iproute2 and the echo servers are the oracles.
/// </summary>
[NonParallelizable]
public sealed class ServiceNetworkTests
{
    private const string ServiceNetwork = "198.19.0.0/16";
    private const int TargetPort = 8080;

    private OverlayCluster cluster = null!;
    private ClusterWorkbench bench = null!;

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        Root.Require();
        cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = Path.Combine(AppContext.BaseDirectory, "overlayd.dll"),
            Nodes = 3,
            NetworkConfig = $"{{\"Network\":\"198.18.0.0/16\",\"ServiceNetwork\":\"{ServiceNetwork}\",\"Backend\":{{\"Type\":\"vxlan\"}}}}",
            DaemonArgs = ["--resync-interval", "5s", "--ip-masq"],
        });
        foreach (ClusterNode node in cluster.Nodes)
        {
            node.WaitForSubnetFile();
        }

        bench = new ClusterWorkbench(cluster, "services", "nameserver 192.0.2.53\n", "s");
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync();
        }

        bench?.DeleteFolder();
    }

    [TearDown]
    public async Task RemoveWhatTheTestMade()
    {
        cluster?.AttachLogsIfFailed();
        if (bench is not null)
        {
            await bench.CleanUpAsync();
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Sixty_connections_reach_every_backend_and_each_backend_sees_the_client_pods_own_address(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("web");
        string client = await RunPodAsync(cluster.Nodes[2]);
        string clusterIP = CreateService("web", "--port", $"80:{TargetPort}", "--selector", "app=web");

        List<EchoReply> replies = await AskManyAsync(client, clusterIP, 80, 60, ct);

        Assert.That(replies.Select(r => r.Backend), Is.All.AnyOf(a, b), string.Join(", ", replies));
        Assert.That(replies.Select(r => r.Backend).Distinct(), Is.EquivalentTo(new[] { a, b }), "60 connections land on both backends");
        Assert.That(replies.Select(r => r.SeenClient).Distinct(), Is.EqualTo(new[] { PodAddress(client) }), "no SNAT between pods");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task UDP_through_the_cluster_ip_reaches_a_backend_and_the_node_itself_reaches_the_service(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("udp");
        string client = await RunPodAsync(cluster.Nodes[2]);
        string clusterIP = CreateService("udp", "--port", $"dns:53:{TargetPort}/udp", "--port", $"80:{TargetPort}", "--selector", "app=udp");

        EchoReply udp = await PollAsync(() => EchoClient.AskUdpAsync(client, clusterIP, 53), r => r.Answered, ct);
        List<EchoReply> fromNode = await AskManyAsync(cluster.Nodes[2].Ns.Name, clusterIP, 80, 10, ct);

        Assert.That(udp.Backend, Is.AnyOf(a, b));
        Assert.That(udp.SeenClient, Is.EqualTo(PodAddress(client)));
        Assert.That(fromNode.Select(r => r.Backend), Is.All.AnyOf(a, b), "a host-network client (the node itself) is served too");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_backend_reaches_its_own_service_and_can_land_on_itself(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("self");
        string clusterIP = CreateService("self", "--port", $"80:{TargetPort}", "--selector", "app=self");

        List<EchoReply> replies = await AskManyAsync(a, clusterIP, 80, 30, ct);

        Assert.That(replies.Select(r => r.Backend), Is.All.AnyOf(a, b));
        Assert.That(replies.Select(r => r.Backend), Does.Contain(a), "hairpin: the pod reached itself through its service");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_removed_backend_gets_no_connection_after_a_second_and_the_last_one_removed_means_refused(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("shrink");
        string client = await RunPodAsync(cluster.Nodes[2]);
        string clusterIP = CreateService("shrink", "--port", $"80:{TargetPort}", "--selector", "app=shrink");
        await AskManyAsync(client, clusterIP, 80, 10, ct);

        await RemovePodAsync(a);
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        List<EchoReply> after = await AskManyAsync(client, clusterIP, 80, 20, ct);

        await RemovePodAsync(b);
        var removed = Stopwatch.StartNew();
        EchoReply refused = await PollAsync(() => EchoClient.AskTcpAsync(client, clusterIP, 80, TimeSpan.FromMilliseconds(300)), r => r.Error == SocketError.ConnectionRefused, ct);

        Assert.That(after.Select(r => r.Backend), Is.All.EqualTo(b), "nothing reaches the removed pod one second after its removal");
        Assert.That(refused.Error, Is.EqualTo(SocketError.ConnectionRefused));
        Assert.That(removed.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "refused within a second of the last backend's removal");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task The_UDP_conntrack_entries_of_a_removed_endpoint_are_deleted_on_the_clients_node(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("flows");
        ClusterNode clientNode = cluster.Nodes[2];
        string client = await RunPodAsync(clientNode);
        string clusterIP = CreateService("flows", "--port", $"dns:53:{TargetPort}/udp", "--selector", "app=flows");
        EchoReply first = await PollAsync(() => EchoClient.AskUdpAsync(client, clusterIP, 53), r => r.Answered, ct);
        string chosen = first.Backend!;
        string chosenAddress = PodAddress(chosen);
        Assert.That(UdpFlowsFrom(clientNode, chosenAddress), Is.GreaterThan(0), "the conntrack tool (the oracle) sees the DNATed flow");

        await RemovePodAsync(chosen);

        Assert.That(Poll.Until(() => UdpFlowsFrom(clientNode, chosenAddress) == 0, TimeSpan.FromSeconds(3)), Is.True,
            $"the flows to {chosenAddress} are gone from {clientNode.Name}'s conntrack table");
        EchoReply after = await PollAsync(() => EchoClient.AskUdpAsync(client, clusterIP, 53), r => r.Answered, ct);
        Assert.That(after.Backend, Is.EqualTo(chosen == a ? b : a), "new datagrams go to the endpoint that is left");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_service_without_endpoints_and_a_port_it_does_not_serve_refuse_and_an_unheld_address_is_dropped(CancellationToken ct)
    {
        string client = await RunPodAsync(cluster.Nodes[2]);
        string clusterIP = CreateService("empty", "--port", $"80:{TargetPort}", "--selector", "app=nobody");

        EchoReply noEndpoints = await PollAsync(() => EchoClient.AskTcpAsync(client, clusterIP, 80, TimeSpan.FromMilliseconds(500)), r => r.Error == SocketError.ConnectionRefused, ct);
        EchoReply wrongPort = await EchoClient.AskTcpAsync(client, clusterIP, 81, TimeSpan.FromMilliseconds(500));
        EchoReply unheld = await EchoClient.AskTcpAsync(client, "198.19.255.254", 80, TimeSpan.FromMilliseconds(500));

        Assert.That(noEndpoints.Error, Is.EqualTo(SocketError.ConnectionRefused));
        Assert.That(wrongPort.Error, Is.EqualTo(SocketError.ConnectionRefused));
        Assert.That(unheld.Error, Is.EqualTo(SocketError.TimedOut), "dropped, not refused");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_removed_service_stops_answering_its_rules_go_and_no_interface_ever_held_its_address(CancellationToken ct)
    {
        (string a, _) = await TwoBackendsAsync("gone");
        string client = await RunPodAsync(cluster.Nodes[2]);
        string clusterIP = CreateService("gone", "--port", $"80:{TargetPort}", "--selector", "app=gone");
        await AskManyAsync(client, clusterIP, 80, 4, ct);
        Assert.That(NodesWhoseRulesMention(clusterIP), Has.Count.EqualTo(3), "every node has the service's rules");

        Ctl("service", "rm", "gone", "--yes").EnsureSuccess();
        bench.Services.Remove("gone");

        EchoReply after = await PollAsync(() => EchoClient.AskTcpAsync(client, clusterIP, 80, TimeSpan.FromMilliseconds(300)), r => !r.Answered, ct);
        Assert.That(after.Answered, Is.False);
        Assert.That(Poll.Until(() => NodesWhoseRulesMention(clusterIP).Count == 0, TimeSpan.FromSeconds(5)), Is.True, "the rules are gone on every node");
        foreach (ClusterNode node in cluster.Nodes)
        {
            Assert.That(node.Ns.Exec("ip", "-j", "addr").StdOut, Does.Not.Contain(clusterIP), $"{node.Name} has the ClusterIP on no interface");
        }
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task An_established_connection_survives_an_overlayd_kill_and_restart_and_an_etcd_outage(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("steady");
        ClusterNode clientNode = cluster.Nodes[2];
        string client = await RunPodAsync(clientNode);
        string clusterIP = CreateService("steady", "--port", $"80:{TargetPort}", "--selector", "app=steady");
        await AskManyAsync(client, clusterIP, 80, 2, ct);
        using EchoConnection open = await EchoClient.OpenAsync(client, clusterIP, 80);

        clientNode.KillDaemon();
        clientNode.StartDaemon();
        Assert.That(await open.EchoAsync("after restart"), Is.EqualTo("after restart"));
        List<EchoReply> afterRestart = await AskManyAsync(client, clusterIP, 80, 6, ct);

        await cluster.Etcd.StopAsync();
        try
        {
            var outage = Stopwatch.StartNew();
            while (outage.Elapsed < TimeSpan.FromSeconds(20))
            {
                Assert.That(await open.EchoAsync("during outage"), Is.EqualTo("during outage"), $"{outage.Elapsed.TotalSeconds:F0} s into the outage");
                Assert.That((await EchoClient.AskTcpAsync(client, clusterIP, 80)).Backend, Is.AnyOf(a, b), "new connections during the outage");
                await Task.Delay(TimeSpan.FromSeconds(2), ct);
            }
        }
        finally
        {
            await cluster.Etcd.StartAgainAsync(ct);
        }

        Assert.That(afterRestart.Select(r => r.Backend), Is.All.AnyOf(a, b));
        Assert.That(await open.EchoAsync("after the outage"), Is.EqualTo("after the outage"));
        Assert.That(open.Greeting, Does.StartWith(a).Or.StartWith(b));
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task Two_overlayctl_processes_creating_services_at_once_never_get_the_same_cluster_ip(CancellationToken ct)
    {
        var seen = new List<string>();
        for (int round = 0; round < 6; round++)
        {
            string first = $"race{round}a", second = $"race{round}b";
            bench.Services.Add(first);
            bench.Services.Add(second);
            Task<CommandResult> one = Task.Run(() => Ctl("service", "create", first, "--port", "80", "--endpoint", "198.18.1.1:80"), ct);
            Task<CommandResult> two = Task.Run(() => Ctl("service", "create", second, "--port", "80", "--endpoint", "198.18.1.1:80"), ct);
            CommandResult[] results = await Task.WhenAll(one, two);
            foreach (CommandResult result in results)
            {
                Assert.That(result.ExitCode, Is.Zero, result.StdErr);
                seen.Add(result.StdOut.Trim());
            }
        }

        Assert.That(seen, Is.Unique);
        Assert.That(seen, Has.Count.EqualTo(12));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_garbage_value_under_the_services_keys_is_skipped_and_other_services_keep_working(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("sane");
        string client = await RunPodAsync(cluster.Nodes[2]);
        cluster.Etcd.Etcdctl("put", cluster.Prefix + "/services/default/junk", "{not json").EnsureSuccess();
        cluster.Etcd.Etcdctl("put", cluster.Prefix + "/services/default/alsojunk", "{\"namespace\":\"default\",\"name\":\"alsojunk\",\"clusterIP\":\"198.19.9.9\",\"ports\":[{\"port\":99999}]}").EnsureSuccess();
        try
        {
            string clusterIP = CreateService("sane", "--port", $"80:{TargetPort}", "--selector", "app=sane");

            List<EchoReply> replies = await AskManyAsync(client, clusterIP, 80, 10, ct);

            Assert.That(replies.Select(r => r.Backend), Is.All.AnyOf(a, b));
            foreach (ClusterNode node in cluster.Nodes)
            {
                Assert.That(Poll.Until(() => node.DaemonOutput.Contains("/services/default/junk", StringComparison.Ordinal)), Is.True, $"{node.Name} says it skipped the garbage");
                Assert.That(node.Daemon!.HasExited, Is.False);
            }
        }
        finally
        {
            cluster.Etcd.Etcdctl("del", cluster.Prefix + "/services/default/junk");
            cluster.Etcd.Etcdctl("del", cluster.Prefix + "/services/default/alsojunk");
        }
    }

    private Task<(string A, string B)> TwoBackendsAsync(string app) => bench.TwoBackendsAsync(app, TargetPort, "--dns-policy", "Default");

    private Task<string> RunPodAsync(ClusterNode node, params string[] flags) => bench.RunPodAsync(node, ["--dns-policy", "Default", .. flags]);

    private Task RemovePodAsync(string pod) => bench.RemovePodAsync(pod);

    /// <summary>Creates a service with overlayctl in the switch namespace; returns its ClusterIP.</summary>
    private string CreateService(string name, params string[] flags)
    {
        string clusterIP = bench.CreateService(name, flags);
        Assert.That(System.Net.IPNetwork.Parse(ServiceNetwork).Contains(System.Net.IPAddress.Parse(clusterIP)), Is.True, clusterIP);
        return clusterIP;
    }

    private CommandResult Ctl(params string[] args) => bench.Ctl(args);

    /// <summary>Asks <paramref name="count"/> times over fresh connections; waits first until the service answers at all (its rules are live).</summary>
    private static async Task<List<EchoReply>> AskManyAsync(string ns, string address, int port, int count, CancellationToken ct)
    {
        await PollAsync(() => EchoClient.AskTcpAsync(ns, address, port, TimeSpan.FromMilliseconds(500)), r => r.Answered, ct);
        var replies = new List<EchoReply>(count);
        for (int i = 0; i < count; i++)
        {
            replies.Add(await EchoClient.AskTcpAsync(ns, address, port));
        }

        return replies;
    }

    private static Task<EchoReply> PollAsync(Func<Task<EchoReply>> ask, Func<EchoReply, bool> done, CancellationToken ct, TimeSpan? timeout = null) =>
        ClusterWorkbench.PollAsync(ask, done, ct, timeout ?? TimeSpan.FromSeconds(10));

    private static string PodAddress(string pod) => ClusterWorkbench.PodAddress(pod);

    /// <summary>UDP conntrack entries in the node whose reply comes from <paramref name="address"/> (the conntrack tool's count).</summary>
    private static int UdpFlowsFrom(ClusterNode node, string address) =>
        node.Ns.Exec("conntrack", "-L", "-p", "udp", "--reply-src", address).StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    /// <summary>The nodes whose nftables ruleset (`nft list ruleset`, the independent oracle) mentions the address.</summary>
    private List<string> NodesWhoseRulesMention(string address) =>
        cluster.Nodes.Where(n => n.Ns.Exec("nft", "list", "ruleset").StdOut.Contains(address + " ", StringComparison.Ordinal)).Select(n => n.Name).ToList();
}
