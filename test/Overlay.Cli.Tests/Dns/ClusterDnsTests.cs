using System.Diagnostics;
using System.Globalization;
using System.Net;
using Overlay.Cli.Tests.Services;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Dns;

/// <summary>
/// Cluster DNS end to end: three nodes running overlayd (DNS on, the default) on a real etcd; a real upstream
/// resolver (dnsmasq) in the switch namespace answering <c>example.test</c>, named by every node's resolv.conf; pods
/// made by <c>overlayctl pod run</c> with the default policy (ClusterFirst), which finds the DNS address in the node's
/// cluster-dns.env; services made by <c>overlayctl service</c>. glibc (<c>getent</c>, bash's <c>/dev/tcp</c>) and
/// <c>dig</c> are the clients and the oracles.
/// </summary>
[NonParallelizable]
public sealed class ClusterDnsTests
{
    private const string ServiceNetwork = "198.19.0.0/16";
    private const string DnsAddress = "198.19.0.10";
    private const int TargetPort = 8080;
    private const string Upstream = OverlayCluster.SwitchAddress;

    private OverlayCluster cluster = null!;
    private Dnsmasq upstream = null!;
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
            NodeResolvConf = $"nameserver {Upstream}\n",
        });
        upstream = await Dnsmasq.StartAsync(new DnsmasqOptions
        {
            Namespace = cluster.Switch,
            ListenAddress = Upstream,
            HostRecords = [new DnsmasqHostRecord("www.example.test", "198.51.100.80")],
            TxtRecords = [DnsmasqTxtRecord.Large("big.example.test")],
        });
        foreach (ClusterNode node in cluster.Nodes)
        {
            node.WaitForSubnetFile();
        }

        bench = new ClusterWorkbench(cluster, "dns", $"nameserver {Upstream}\n", "d");
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        if (upstream is not null)
        {
            await upstream.DisposeAsync();
        }

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

        foreach (ClusterNode node in cluster?.Nodes ?? [])
        {
            if (node.Daemon is null || node.Daemon.HasExited)
            {
                node.StartDaemon();
            }
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_ClusterFirst_pod_finds_a_service_by_its_short_and_full_names_and_reaches_it_by_name(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("web");
        string client = await RunPodAsync(cluster.Nodes[2]);
        string clusterIP = CreateService("web", "--port", $"http:80:{TargetPort}", "--selector", "app=web");

        string resolvConf = File.ReadAllText($"/etc/netns/{client}/resolv.conf");
        Assert.That(resolvConf, Does.Contain($"nameserver {DnsAddress}\n").And.Contain("search default.svc.cluster.local svc.cluster.local cluster.local"),
            "pod run found the DNS address and domain in the node's cluster-dns.env");
        Assert.That(await PollAsync(() => Getent(client, "web").Output, o => o.StartsWith(clusterIP + " ", StringComparison.Ordinal), ct), Does.StartWith(clusterIP + " "));

        (string shortName, double shortMs) = FastestGetent(client, "web");
        (string fullName, double fullMs) = FastestGetent(client, "web.default.svc.cluster.local");
        CommandResult byName = Shell.Run("ip", "netns", "exec", client, "bash", "-c", "exec 3<>/dev/tcp/web/80; head -1 <&3");

        Assert.That(shortName, Does.StartWith(clusterIP + " "));
        Assert.That(fullName, Does.StartWith(clusterIP + " "));
        Assert.That(shortMs, Is.LessThan(100), "getent hosts web");
        Assert.That(fullMs, Is.LessThan(100), "getent hosts web.default.svc.cluster.local");
        Assert.That(byName.ExitCode, Is.Zero, byName.StdErr);
        Assert.That(byName.StdOut, Does.Contain(a).Or.Contain(b), "a connection to web:80 reached a backend");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Names_outside_the_zone_come_from_the_nodes_resolver_and_a_name_that_exists_nowhere_fails_fast(CancellationToken ct)
    {
        string client = await RunPodAsync(cluster.Nodes[0]);

        string www = await PollAsync(() => Getent(client, "www.example.test").Output, o => o.Length > 0, ct);
        (string nowhere, double nowhereMs) = FastestGetent(client, "nowhere.example.test");
        (_, double missingMs) = FastestGetent(client, "missing");

        Assert.That(www, Does.StartWith("198.51.100.80 "), "forwarded to dnsmasq");
        Assert.That(nowhere, Is.Empty);
        Assert.That(nowhereMs, Is.LessThan(100), "the search list's in-zone names fail at once, the upstream says NXDOMAIN");
        Assert.That(missingMs, Is.LessThan(100));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Dig_at_the_DNS_address_gets_SRV_PTR_TXT_and_an_authoritative_NXDOMAIN_with_the_SOA_over_UDP_and_TCP(CancellationToken ct)
    {
        await TwoBackendsAsync("srv");
        string client = await RunPodAsync(cluster.Nodes[1]);
        string clusterIP = CreateService("srv", "--port", $"http:80:{TargetPort}", "--port", $"dns:53:{TargetPort}/udp", "--selector", "app=srv");
        string pod = client;
        await PollAsync(() => DigAt(pod, "srv.default.svc.cluster.local").AnswerData("A"), a => a.Contains(clusterIP), ct);

        DigResult a = DigAt(pod, "srv.default.svc.cluster.local");
        DigResult overTcp = DigAt(pod, "srv.default.svc.cluster.local", options: new DigOptions { Tcp = true });
        DigResult srv = DigAt(pod, "_http._tcp.srv.default.svc.cluster.local", "SRV");
        DigResult udpSrv = DigAt(pod, "_dns._udp.srv.default.svc.cluster.local", "SRV");
        DigResult ptr = DigAt(pod, ReverseName(clusterIP), "PTR");
        DigResult txt = DigAt(pod, "dns-version.cluster.local", "TXT");
        DigResult missing = DigAt(pod, "nothing.default.svc.cluster.local");

        Assert.That(a.Status, Is.EqualTo("NOERROR"));
        Assert.That(a.Authoritative, Is.True);
        Assert.That(a.Answer.Single().Ttl, Is.EqualTo(5));
        Assert.That(overTcp.AnswerData("A"), Is.EqualTo(new[] { clusterIP }));
        Assert.That(overTcp.Transport, Is.EqualTo("TCP"));
        Assert.That(srv.AnswerData("SRV"), Has.One.EndsWith(" 80 srv.default.svc.cluster.local."));
        Assert.That(srv.Additional.Where(r => r.Type == "A").Select(r => r.Data), Is.EqualTo(new[] { clusterIP }), "the target's address comes along");
        Assert.That(udpSrv.AnswerData("SRV"), Has.One.EndsWith(" 53 srv.default.svc.cluster.local."));
        Assert.That(ptr.AnswerData("PTR"), Is.EqualTo(new[] { "srv.default.svc.cluster.local." }));
        Assert.That(txt.AnswerData("TXT"), Is.EqualTo(new[] { "\"1.1.0\"" }));
        Assert.That(missing.Status, Is.EqualTo("NXDOMAIN"));
        Assert.That(missing.Authoritative, Is.True);
        Assert.That(missing.Authority.Select(r => r.Type), Is.EqualTo(new[] { "SOA" }));
        Assert.That(missing.Authority[0].Name, Is.EqualTo("cluster.local"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_headless_service_answers_with_its_pods_addresses_and_the_pods_names_resolve_back(CancellationToken ct)
    {
        (string a, string b) = await TwoBackendsAsync("headless");
        string client = await RunPodAsync(cluster.Nodes[2]);
        CreateService("headless", "--cluster-ip", "None", "--port", $"http:80:{TargetPort}", "--selector", "app=headless");
        string pod = client;
        string[] expected = [PodAddress(a), PodAddress(b)];

        IReadOnlyList<string> addresses = await PollAsync(() => DigAt(pod, "headless.default.svc.cluster.local").AnswerData("A"), x => x.Count == 2, ct);
        DigResult podName = DigAt(pod, $"{expected[0].Replace('.', '-')}.default.pod.cluster.local");
        DigResult podPtr = DigAt(pod, ReverseName(expected[0]), "PTR");

        Assert.That(addresses, Is.EquivalentTo(expected));
        Assert.That(podName.AnswerData("A"), Is.EqualTo(new[] { expected[0] }));
        Assert.That(podPtr.AnswerData("PTR"), Is.EqualTo(new[] { $"{expected[0].Replace('.', '-')}.default.pod.cluster.local." }));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_truncated_upstream_answer_is_retried_over_TCP_and_arrives_whole(CancellationToken ct)
    {
        string client = await RunPodAsync(cluster.Nodes[0]);
        string pod = client;

        DigResult truncated = await PollAsync(
            () => DigAt(pod, "big.example.test", "TXT", new DigOptions { NoEdns = true, IgnoreTruncation = true }), r => r.Answered, ct);
        DigResult retried = DigAt(pod, "big.example.test", "TXT", new DigOptions { NoEdns = true });
        DigResult direct = Dig.Query(cluster.Switch, Upstream, "big.example.test", "TXT", new DigOptions { Tcp = true });

        Assert.That(truncated.Truncated, Is.True, "over UDP without EDNS the answer does not fit 512 bytes");
        Assert.That(retried.Output, Does.Contain("Truncated, retrying in TCP mode"));
        Assert.That(retried.Transport, Is.EqualTo("TCP"));
        Assert.That(retried.AnswerData("TXT"), Is.EqualTo(direct.AnswerData("TXT")).And.Not.Empty, "the whole record, as the upstream has it");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task A_new_service_resolves_within_a_second_and_a_removed_one_stops_within_a_second(CancellationToken ct)
    {
        string client = await RunPodAsync(cluster.Nodes[1]);
        string pod = client;
        await PollAsync(() => DigAt(pod, "dns-version.cluster.local", "TXT"), r => r.Answered, ct);

        // Timed from the command's return (the service is in etcd): overlayctl's own start-up, half a second of
        // dotnet under load, is not the daemon's latency.
        string clusterIP = CreateService("fresh", "--port", $"80:{TargetPort}", "--endpoint", "198.18.200.5");
        var created = Stopwatch.StartNew();
        IReadOnlyList<string> answer = await PollAsync(() => DigAt(pod, "fresh.default.svc.cluster.local").AnswerData("A"), a => a.Count > 0, ct, TimeSpan.FromSeconds(5));
        TimeSpan toResolve = created.Elapsed;

        Assert.That(Ctl("service", "rm", "fresh", "--yes").ExitCode, Is.Zero);
        var removed = Stopwatch.StartNew();
        bench.Services.Remove("fresh");
        DigResult gone = await PollAsync(() => DigAt(pod, "fresh.default.svc.cluster.local"), r => r.Status == "NXDOMAIN", ct, TimeSpan.FromSeconds(5));
        TimeSpan toVanish = removed.Elapsed;

        Assert.That(answer, Is.EqualTo(new[] { clusterIP }));
        Assert.That(toResolve, Is.LessThan(TimeSpan.FromSeconds(1)), "resolves within 1 s of service create");
        Assert.That(gone.Status, Is.EqualTo("NXDOMAIN"));
        Assert.That(toVanish, Is.LessThan(TimeSpan.FromSeconds(1)), "gone within 1 s of service rm");
    }

    [Test]
    [CancelAfter(180_000)]
    public async Task A_restarted_overlayd_answers_within_a_second_of_ready_and_a_stopped_node_leaves_the_others_answering(CancellationToken ct)
    {
        ClusterNode node = cluster.Nodes[0];
        string here = await RunPodAsync(node);
        string there = await RunPodAsync(cluster.Nodes[1]);
        string clusterIP = CreateService("steady", "--port", $"80:{TargetPort}", "--endpoint", "198.18.200.6");
        await PollAsync(() => DigAt(here, "steady.default.svc.cluster.local").AnswerData("A"), a => a.Contains(clusterIP), ct);

        node.StopDaemon();
        DigResult whileStopped = DigAt(there, "steady.default.svc.cluster.local");
        Process restarted = node.StartDaemon();
        Assert.That(Poll.Until(() => ProcessOutput.Of(restarted).Contains("ready: ", StringComparison.Ordinal), TimeSpan.FromSeconds(30)), Is.True, ProcessOutput.Of(restarted));
        var ready = Stopwatch.StartNew();
        IReadOnlyList<string> again = await PollAsync(() => DigAt(here, "steady.default.svc.cluster.local", options: new DigOptions { TimeoutSeconds = 1 }).AnswerData("A"), a => a.Count > 0, ct, TimeSpan.FromSeconds(10));
        TimeSpan afterReady = ready.Elapsed;

        Assert.That(whileStopped.AnswerData("A"), Is.EqualTo(new[] { clusterIP }), "node2's pod resolves while node1's overlayd is down");
        Assert.That(again, Is.EqualTo(new[] { clusterIP }));
        Assert.That(afterReady, Is.LessThan(TimeSpan.FromSeconds(1)), "node1 answers again within 1 s of ready");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task The_node_writes_cluster_dns_env_beside_subnet_env_and_a_host_network_client_gets_answers_too(CancellationToken ct)
    {
        ClusterNode node = cluster.Nodes[2];
        string file = Path.Combine(Path.GetDirectoryName(node.SubnetFile)!, "cluster-dns.env");
        string clusterIP = CreateService("hostnet", "--port", $"80:{TargetPort}", "--endpoint", "198.18.200.7");

        IReadOnlyList<string> fromNode = await PollAsync(() => DigAt(node.Ns, "hostnet.default.svc.cluster.local").AnswerData("A"), a => a.Count > 0, ct);

        Assert.That(File.ReadAllText(file), Is.EqualTo($"OVERLAY_CLUSTER_DNS={DnsAddress}\nOVERLAY_CLUSTER_DOMAIN=cluster.local\n"));
        Assert.That(fromNode, Is.EqualTo(new[] { clusterIP }), "the output hook sends the node's own query to its listener");
    }

    private static DigResult DigAt(NetNs ns, string name, string type = "A", DigOptions? options = null) =>
        DigAt(ns.Name, name, type, options);

    private static DigResult DigAt(string ns, string name, string type = "A", DigOptions? options = null) =>
        Dig.Query(ns, DnsAddress, name, type, options);

    /// <summary>getent hosts in the pod, timed inside the pod (the namespace switch not counted).</summary>
    private static (string Output, double Milliseconds) Getent(string pod, string name)
    {
        CommandResult run = Shell.Run("ip", "netns", "exec", pod, "bash", "-c",
            $"s=$(date +%s%N); out=$(getent hosts {name}); e=$(date +%s%N); echo \"$(( (e - s) / 1000 ))\"; echo \"$out\"");
        string[] lines = run.StdOut.Split('\n');
        double ms = double.Parse(lines[0], CultureInfo.InvariantCulture) / 1000.0;
        return (string.Join('\n', lines.Skip(1)).Trim(), ms);
    }

    /// <summary>The fastest of three lookups: one lookup's time, not the machine's worst moment.</summary>
    private static (string Output, double Milliseconds) FastestGetent(string pod, string name) =>
        Enumerable.Range(0, 3).Select(_ => Getent(pod, name)).MinBy(r => r.Milliseconds);

    private static string ReverseName(string address) => string.Join('.', address.Split('.').Reverse()) + ".in-addr.arpa";

    private Task<(string A, string B)> TwoBackendsAsync(string app) => bench.TwoBackendsAsync(app, TargetPort);

    /// <summary>A pod with the default DNS policy (ClusterFirst) and no --cluster-dns: pod run reads cluster-dns.env.</summary>
    private Task<string> RunPodAsync(ClusterNode node, params string[] flags) => bench.RunPodAsync(node, flags);

    private string CreateService(string name, params string[] flags) => bench.CreateService(name, flags);

    private CommandResult Ctl(params string[] args) => bench.Ctl(args);

    private static Task<T> PollAsync<T>(Func<T> ask, Func<T, bool> done, CancellationToken ct, TimeSpan? timeout = null) =>
        ClusterWorkbench.PollAsync(() => Task.FromResult(ask()), done, ct, timeout);

    private static string PodAddress(string pod) => ClusterWorkbench.PodAddress(pod);
}
