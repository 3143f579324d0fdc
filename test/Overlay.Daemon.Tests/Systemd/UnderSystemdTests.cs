using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Overlay.Daemon.Tests.EndToEnd;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.Systemd;

/// <summary>
/// The repository's overlayd.service, unchanged, under a real systemd: a container (<see cref="SystemdContainer"/>)
/// joins node 1 of a two-node cluster, overlayd is installed as docs/operations.md says, and systemd starts, stops,
/// restarts and watches it. Node 2 runs overlayd as a plain process and holds the pod that pings node 1's pod.
/// The native overlayd (OVERLAY_AOT_OVERLAYD, always set in CI) is preferred; else the JIT build with the host's .NET.
/// </summary>
[NonParallelizable]
public partial class UnderSystemdTests
{
    private const string Unit = "overlayd";

    /// <summary>overlayd's status line once ready, its lease (as named in etcd) first: "198.18.34.0-24: 1 peers, 0 repairs".</summary>
    [GeneratedRegex(@"^198\.18\.\d+\.0-24: (?<peers>\d+) peers, \d+ repairs$")]
    private static partial Regex ReadyStatus();

    private OverlayCluster _cluster = null!;
    private SystemdContainer _container = null!;

    private static string Overlayd =>
        Environment.GetEnvironmentVariable(NativeAotTests.BinaryVariable) is { Length: > 0 } native ? native : EndToEnd.Daemon.Path;

    /// <summary>The node systemd runs overlayd on.</summary>
    private ClusterNode SystemdNode => _cluster.Nodes[0];

    /// <summary>The node with overlayd as a plain process and a pod.</summary>
    private ClusterNode Peer => _cluster.Nodes[1];

    private Dictionary<string, string> OverlaydEnvironment => new()
    {
        ["FLANNELD_ETCD_ENDPOINTS"] = _cluster.Etcd.Endpoint,
        ["FLANNELD_IP_MASQ"] = "true",
        ["FLANNELD_HEALTHZ_IP"] = SystemdNode.UnderlayAddress,
        ["FLANNELD_HEALTHZ_PORT"] = "9100",
    };

    [OneTimeSetUp]
    public async Task StartClusterWithAPeer()
    {
        Root.Require();
        await SystemdContainer.EnsureRootAsync();
        _cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions { Overlayd = Overlayd, Nodes = 2, StartDaemons = false });
        Peer.StartDaemon();
        Peer.WaitForSubnetFile(TimeSpan.FromSeconds(60));
        Peer.AddPod();
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [SetUp]
    public async Task BootContainer()
    {
        // Two tests delete the network config to watch overlayd wait: whatever became of them, each test starts with it.
        _cluster.Etcd.Etcdctl("put", _cluster.Prefix + "/config", "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}").EnsureSuccess();
        _container = await SystemdContainer.BootAsync(new SystemdContainerOptions { Network = SystemdNode.Ns, Overlayd = Overlayd });
    }

    [TearDown]
    public async Task PowerOffContainer()
    {
        _cluster?.AttachLogsIfFailed();
        if (_container is not null)
        {
            _container.AttachLogsIfFailed(Unit);
            await _container.DisposeAsync();
        }
    }

    [Test]
    public void The_unit_stays_activating_until_the_first_reconcile_and_is_active_only_with_the_peers_programmed()
    {
        // A node that had run before would find its routes in place: start from a kernel without them.
        SystemdNode.Ns.Exec("ip", "link", "delete", Kernel.Device);
        _cluster.Etcd.Etcdctl("del", _cluster.Prefix + "/config").EnsureSuccess();
        _container.InstallOverlayd(OverlaydEnvironment);

        _container.Systemctl("start", "--no-block", Unit).EnsureSuccess();
        var waiting = new List<UnitState>();
        Assert.That(Poll.Until(() => Record(waiting).StatusText.Contains("network config", StringComparison.Ordinal), TimeSpan.FromSeconds(60)), Is.True,
            $"overlayd should wait for the network config: {Describe(waiting)}");
        var clock = Stopwatch.StartNew();
        Poll.Until(() => Record(waiting).ActiveState != "activating" || clock.Elapsed > TimeSpan.FromSeconds(2));

        _cluster.Etcd.Etcdctl("put", _cluster.Prefix + "/config", "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}").EnsureSuccess();
        var starting = new List<(UnitState State, bool PeerRouted, bool SubnetFile)>();
        Assert.That(Poll.Until(() =>
        {
            UnitState state = _container.State(Unit);
            starting.Add((state, PeerRouted(), _container.ReadFile("/run/flannel/subnet.env") is not null));
            return state.ActiveState != "activating";
        }, TimeSpan.FromSeconds(60)), Is.True, "overlayd did not become ready");

        Assert.That(waiting.Select(s => s.ActiveState), Is.All.EqualTo("activating"), "no READY while the config is missing");
        Assert.That(waiting.Select(s => s.SubState), Is.All.EqualTo("start"));
        (UnitState ready, bool peerRouted, bool subnetFile) = starting[^1];
        Assert.That(ready.ActiveState, Is.EqualTo("active"), ready.ToString());
        Assert.That(peerRouted, Is.True, "READY came before the route to the peer was programmed");
        Assert.That(subnetFile, Is.True, "READY came before subnet.env was written");
        Assert.That(starting.SkipLast(1).Select(s => s.State.ActiveState), Is.All.EqualTo("activating"));
        Assert.That(_container.Journal(Unit), Does.Contain("ready: 1 peers programmed").And.Contain("Started overlayd.service"));
    }

    [Test]
    public void STATUS_says_what_overlayd_waits_for_then_its_subnet_and_peer_count_as_peers_come_and_go()
    {
        _cluster.Etcd.Etcdctl("del", _cluster.Prefix + "/config").EnsureSuccess();
        _container.InstallOverlayd(OverlaydEnvironment);

        _container.Systemctl("start", "--no-block", Unit).EnsureSuccess();
        var history = new List<UnitState>();
        // The wait's own words, or, once a retry has failed, its reason ("/coreos.com/network/config is missing: put a network config there ...").
        Assert.That(Poll.Until(() => Record(history).StatusText is { } text
            && (text == "waiting for a valid network config in etcd" || text.Contains("put a network config there", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)), Is.True,
            Describe(history));
        _cluster.Etcd.Etcdctl("put", _cluster.Prefix + "/config", "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}").EnsureSuccess();
        Assert.That(Poll.Until(() => PeersInStatus(Record(history)) == 1, TimeSpan.FromSeconds(60)), Is.True, Describe(history));

        // Another node joins, then leaves: the status line follows within a housekeeping tick or two.
        ClusterNode newcomer = _cluster.AddNode();
        try
        {
            newcomer.StartDaemon();
            Assert.That(Poll.Until(() => PeersInStatus(Record(history)) == 2, TimeSpan.FromSeconds(60)), Is.True, Describe(history));
            newcomer.KillDaemon();
            _cluster.Etcd.Etcdctl("del", newcomer.LeaseKey).EnsureSuccess();
            Assert.That(Poll.Until(() => PeersInStatus(Record(history)) == 1, TimeSpan.FromSeconds(60)), Is.True, Describe(history));
        }
        finally
        {
            newcomer.KillDaemon();
        }

        Assert.That(history.Where(s => s.ActiveState == "activating").Select(s => s.StatusText), Has.None.Match(ReadyStatus().ToString()),
            "the peer count is shown only once ready");
        Assert.That(history[^1].ActiveState, Is.EqualTo("active"));
    }

    [Test]
    public void Stop_ends_overlayd_with_success_and_leaves_the_device_the_routes_subnet_env_and_pod_traffic()
    {
        StartOverlayd();
        NetNs pod = PodBehindTheSystemdNode();
        List<string> routes = Kernel.RoutesOnDevice(SystemdNode.Ns);
        string subnetFile = _container.ReadFile("/run/flannel/subnet.env")!;

        _container.Systemctl("stop", Unit).EnsureSuccess();

        UnitState stopped = _container.State(Unit);
        Assert.That((stopped.ActiveState, stopped.SubState, stopped.Result), Is.EqualTo(("inactive", "dead", "success")), stopped.ToString());
        Assert.That(stopped.ExecMainStatus, Is.Zero);
        Assert.That(Kernel.RoutesOnDevice(SystemdNode.Ns), Is.EqualTo(routes).And.Not.Empty, "flannel.1 and its routes stay");
        Assert.That(_container.ReadFile("/run/flannel/subnet.env"), Is.EqualTo(subnetFile), "RuntimeDirectoryPreserve keeps subnet.env");
        Assert.That(Peer.Pod!.Ping(SystemdNode.PodAddress, count: 3), Is.True, $"pods talk with overlayd stopped ({pod})");
    }

    [Test]
    public async Task Restart_keeps_pods_talking_and_the_lease()
    {
        StartOverlayd();
        PodBehindTheSystemdNode();
        string lease = SystemdNode.LeaseSubnet.Replace('/', '-');
        int before = _container.State(Unit).MainPid;
        Process ping = Peer.Pod!.Start("ping", ["-n", "-i", "0.1", "-W", "1", SystemdNode.PodAddress]);

        await Task.Delay(TimeSpan.FromSeconds(1));
        var clock = Stopwatch.StartNew();
        _container.Systemctl("restart", Unit).EnsureSuccess();
        TimeSpan restart = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(1));
        (int sent, int lost, string output) = StopPing(ping);

        UnitState after = _container.State(Unit);
        Assert.That(after.ActiveState, Is.EqualTo("active"), after.ToString());
        Assert.That(after.MainPid, Is.Not.EqualTo(before).And.Not.Zero, "a new overlayd");
        Assert.That(sent, Is.GreaterThan(15), output);
        Assert.That(lost, Is.Zero, $"{lost} of {sent} pings lost across systemctl restart:\n{output}");
        Assert.That(ReadyStatus().IsMatch(after.StatusText) && after.StatusText.StartsWith(lease + ":", StringComparison.Ordinal), Is.True,
            $"the same lease {lease} after the restart: {after.StatusText}");
        TestContext.Out.WriteLine($"systemctl restart took {restart.TotalSeconds:F1} s; {sent} pings, {lost} lost");
    }

    [Test]
    public void The_sandbox_runs_overlayd_unprivileged_and_it_still_builds_its_device_rules_and_subnet_env()
    {
        StartOverlayd();
        int pid = _container.State(Unit).MainPid;
        Dictionary<string, string> status = _container.Exec("cat", $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/status").EnsureSuccess().StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':', 2)).ToDictionary(p => p[0], p => p[1].Trim(), StringComparer.Ordinal);
        string rootMount = _container.Exec("cat", $"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/mountinfo").EnsureSuccess().StdOut
            .Split('\n').Last(l => l.Split(' ').Length > 5 && l.Split(' ')[4] == "/");

        // The sandbox is in force: a dynamic user, exactly the three capabilities, no new privileges, a read-only /.
        const long capabilities = (1L << 10) | (1L << 12) | (1L << 13); // CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW
        Assert.That(status["Uid"].Split('\t')[1], Is.Not.EqualTo("0"), "a dynamic user, not root");
        Assert.That(long.Parse(status["CapEff"], NumberStyles.HexNumber, CultureInfo.InvariantCulture), Is.EqualTo(capabilities));
        Assert.That(long.Parse(status["CapBnd"], NumberStyles.HexNumber, CultureInfo.InvariantCulture), Is.EqualTo(capabilities));
        Assert.That(status["NoNewPrivs"], Is.EqualTo("1"));
        Assert.That(rootMount.Split(' ')[5].Split(','), Does.Contain("ro"), $"ProtectSystem=strict: {rootMount}");

        // ... and overlayd built everything: the device, the routes, the nftables table, subnet.env, its health endpoint.
        Assert.That(SystemdNode.Ns.Exec("ip", "-d", "link", "show", Kernel.Device).StdOut, Does.Contain("vxlan id 1 "));
        Assert.That(Kernel.RoutesToAll(SystemdNode, [Peer]), Is.True, string.Join(", ", Kernel.RoutesOnDevice(SystemdNode.Ns)));
        Assert.That(SystemdNode.Ns.Exec("nft", "list", "table", "ip", "overlay").StdOut, Does.Contain("masquerade"));
        string subnetFile = _container.ReadFile("/run/flannel/subnet.env") ?? "";
        Assert.That(subnetFile, Does.Contain("FLANNEL_NETWORK=198.18.0.0/16").And.Contain("FLANNEL_IPMASQ=true").And.Match(@"FLANNEL_SUBNET=198\.18\.\d+\.1/24"));
        Assert.That(Kernel.HttpGet(SystemdNode, "/readyz"), Does.StartWith("HTTP/1.1 200"));
    }

    [Test]
    public void A_frozen_overlayd_is_killed_by_the_watchdog_restarted_and_ready_again()
    {
        StartOverlayd("[Service]\nWatchdogSec=5s\n");
        PodBehindTheSystemdNode();
        UnitState before = _container.State(Unit);

        _container.Systemctl("kill", "--kill-whom=main", "--signal=SIGSTOP", Unit).EnsureSuccess();
        var clock = Stopwatch.StartNew();
        Assert.That(Peer.Pod!.Ping(SystemdNode.PodAddress, count: 3), Is.True, "pods talk while overlayd is frozen");
        UnitState now = before;
        bool back = Poll.Until(() =>
        {
            now = _container.State(Unit);
            return now.Restarts > before.Restarts && now.ActiveState == "active" && now.MainPid != before.MainPid;
        }, TimeSpan.FromSeconds(90));

        Assert.That(back, Is.True, $"after {clock.Elapsed}: {now}");
        Assert.That(now.Restarts, Is.EqualTo(before.Restarts + 1));
        Assert.That(ReadyStatus().IsMatch(now.StatusText), Is.True, now.StatusText);
        Assert.That(Peer.Pod!.Ping(SystemdNode.PodAddress, count: 3), Is.True, "pods talk after the watchdog's restart");
        string journal = _container.Journal(Unit);
        Assert.That(journal, Does.Contain("Watchdog timeout"));
        TestContext.Out.WriteLine($"frozen to ready again: {clock.Elapsed.TotalSeconds:F1} s (WatchdogSec=5s, RestartSec=2)\n{journal}");
    }

    /// <summary>Installs overlayd and starts it; `systemctl start` returns once overlayd sent READY=1.</summary>
    private void StartOverlayd(string? dropIn = null)
    {
        _container.InstallOverlayd(OverlaydEnvironment, dropIn);
        _container.Systemctl("start", Unit).EnsureSuccess();
        UnitState state = _container.State(Unit);
        Assert.That(state.ActiveState, Is.EqualTo("active"), state.ToString());
    }

    /// <summary>The pod on the systemd node, made once (its subnet stays: same machine-id, same address, same lease).</summary>
    private NetNs PodBehindTheSystemdNode()
    {
        if (SystemdNode.Pod is { } pod)
        {
            return pod;
        }

        // ClusterNode reads subnet.env from its folder; overlayd under systemd writes it to /run/flannel.
        File.WriteAllText(SystemdNode.SubnetFile, _container.ReadFile("/run/flannel/subnet.env") ?? throw new InvalidOperationException("no subnet.env"));
        pod = SystemdNode.AddPod();
        Assert.That(Poll.Until(() => Peer.Pod!.Ping(SystemdNode.PodAddress), TimeSpan.FromSeconds(30)), Is.True, "the pods did not reach each other");
        return pod;
    }

    private UnitState Record(List<UnitState> history)
    {
        UnitState state = _container.State(Unit);
        history.Add(state);
        return state;
    }

    /// <summary>The states seen, each run of equal ones once with its count: "activating/start ... ×12; active/running ...".</summary>
    private static string Describe(List<UnitState> history) =>
        string.Join("; ", history.Aggregate(new List<(UnitState State, int Count)>(), (runs, s) =>
        {
            if (runs.Count > 0 && runs[^1].State == s)
            {
                runs[^1] = (s, runs[^1].Count + 1);
            }
            else
            {
                runs.Add((s, 1));
            }

            return runs;
        }).Select(r => $"{r.State} ×{r.Count.ToString(CultureInfo.InvariantCulture)}"));

    private static int? PeersInStatus(UnitState state) =>
        ReadyStatus().Match(state.StatusText) is { Success: true } match ? int.Parse(match.Groups["peers"].Value, CultureInfo.InvariantCulture) : null;

    /// <summary>Whether node 1 routes the peer's subnet through flannel.1 (false while the device does not exist).</summary>
    private bool PeerRouted() =>
        SystemdNode.Ns.Exec("ip", "route", "show", Peer.LeaseSubnet).StdOut.Contains("dev " + Kernel.Device, StringComparison.Ordinal);

    /// <summary>Ends a running ping with SIGINT, as Ctrl+C would: how many it sent and how many were lost.</summary>
    private static (int Sent, int Lost, string Output) StopPing(Process ping)
    {
        Shell.Run("kill", "-INT", ping.Id.ToString(CultureInfo.InvariantCulture)).EnsureSuccess();
        Assert.That(ping.WaitForExit(10_000) && ProcessOutput.WaitForEnd(ping, TimeSpan.FromSeconds(10)), Is.True, "ping did not end");
        string output = ping.Output;
        Match match = Regex.Match(output, @"(\d+) packets transmitted, (\d+) received");
        Assert.That(match.Success, Is.True, output);
        int sent = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return (sent, sent - int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), output);
    }
}
