using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Pods;

/// <summary>
/// Pods as endpoints, end to end: `overlayctl pod run --namespace --label` on a node running overlayd, through the
/// real CNI plugin (which writes the pods folder beside subnet.env), to overlayd, which publishes the pod to etcd
/// bound to its pod lease. etcd (etcdctl) is the oracle; every wait polls.
/// </summary>
[NonParallelizable]
public sealed class PodEndpointTests
{
    private OverlayCluster cluster = null!;
    private string folder = "";
    private readonly List<string> pods = [];
    private int podCounter;

    private ClusterNode Node => cluster.Nodes[0];

    private string State => Path.Combine(folder, "pods");

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        Root.Require();
        cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = Path.Combine(AppContext.BaseDirectory, "overlayd.dll"),
            Nodes = 1,
            StartDaemons = false,
        });
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
    public void CreateFolder() => folder = Directory.CreateTempSubdirectory($"ovt-endpoints-{Environment.ProcessId}-").FullName;

    [TearDown]
    public async Task RemovePods()
    {
        cluster?.AttachLogsIfFailed();
        Node.KillDaemon();
        foreach (string pod in pods)
        {
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
    public async Task A_pod_run_with_a_namespace_and_labels_appears_in_etcd_and_pod_rm_removes_it()
    {
        StartDaemon();
        string pod = NewPodName();

        CliResult run = await RunPodAsync(pod, "--namespace", "shop", "--label", "app=web", "--label", "tier=front");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        string key = PodKey("shop", pod);
        Assert.That(Poll.Until(() => Stored(key) is not null), Is.True, $"{key} appears in etcd");
        using (var value = JsonDocument.Parse(Stored(key)!.Value.Value))
        {
            JsonElement root = value.RootElement;
            Assert.That(root.GetProperty("namespace").GetString(), Is.EqualTo("shop"));
            Assert.That(root.GetProperty("name").GetString(), Is.EqualTo(pod));
            Assert.That(root.GetProperty("node").GetString(), Is.EqualTo(Node.LeaseSubnet.Replace('/', '-')));
            Assert.That(root.GetProperty("ips").EnumerateArray().Select(i => i.GetString()), Is.EqualTo(new[] { PodAddress(pod) }));
            Assert.That(root.GetProperty("labels").GetRawText(), Is.EqualTo("""{"app":"web","tier":"front"}"""));
        }

        CliResult rm = await Cli.RunAsync("pod", "rm", pod, "--pod-state-dir", State);

        Assert.That(rm.ExitCode, Is.Zero, rm.ToString());
        Assert.That(Poll.Until(() => Stored(key) is null), Is.True, $"{key} is gone from etcd after pod rm");
    }

    [Test]
    public async Task The_pods_of_a_node_whose_overlayd_was_killed_vanish_within_the_pod_TTL()
    {
        StartDaemon("--pod-ttl", "3s");
        string pod = NewPodName();
        Assert.That((await RunPodAsync(pod, "--label", "app=web")).ExitCode, Is.Zero);
        string key = PodKey("default", pod);
        Assert.That(Poll.Until(() => Stored(key) is not null), Is.True, $"{key} appears in etcd");

        Node.KillDaemon();
        var sinceKill = Stopwatch.StartNew();

        Assert.That(Poll.Until(() => Stored(key) is null, TimeSpan.FromSeconds(3 + 3)), Is.True, $"{key} is gone within the 3 s TTL and a 3 s margin");
        TestContext.Out.WriteLine($"the key went {sinceKill.ElapsedMilliseconds} ms after SIGKILL");
    }

    [Test]
    public async Task A_pods_key_is_never_deleted_while_overlayd_is_killed_and_restarted_at_once()
    {
        const int Ttl = 10;
        StartDaemon("--pod-ttl", $"{Ttl}s");
        string pod = NewPodName();
        Assert.That((await RunPodAsync(pod, "--label", "app=web")).ExitCode, Is.Zero);
        string key = PodKey("default", pod);
        Assert.That(Poll.Until(() => Stored(key) is not null), Is.True, $"{key} appears in etcd");
        long firstLease = Stored(key)!.Value.Lease;

        // Watch the pod's folder in etcd; a sentinel key shows the watch is live before the restart.
        string folderKey = key[..(key.LastIndexOf('/') + 1)];
        Process watch = cluster.Switch.Start("etcdctl", [.. cluster.Etcd.EtcdctlConnectionFlags(), "watch", "--prefix", folderKey], new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        try
        {
            // Put until seen: the watch may not be established yet when the first put lands.
            Assert.That(Poll.Until(() =>
            {
                cluster.Etcd.Etcdctl("put", key + "-sentinel", "watch is live").EnsureSuccess();
                return Poll.Until(() => watch.Output.Contains("watch is live", StringComparison.Ordinal), TimeSpan.FromMilliseconds(500));
            }), Is.True, $"exited: {watch.HasExited}; output: {watch.Output}");

            Node.KillDaemon();
            var sinceKill = Stopwatch.StartNew();
            StartDaemon("--pod-ttl", $"{Ttl}s");

            Assert.That(Poll.Until(() => Stored(key) is { } now && now.Lease != firstLease, TimeSpan.FromSeconds(Ttl)), Is.True,
                "the restarted overlayd put the pod under its own lease");
            TestContext.Out.WriteLine($"put again under a new lease {sinceKill.ElapsedMilliseconds} ms after SIGKILL");

            // Past the old lease's expiry: had the key stayed bound to it, it would be deleted by now.
            Assert.That(Poll.Until(() => RemainingTtl(firstLease) < 0, TimeSpan.FromSeconds(Ttl + 3)), Is.True, "the old lease expired");
            Assert.That(Stored(key), Is.Not.Null);
            Assert.That(watch.Output, Does.Not.Contain("DELETE"), watch.Output);
        }
        finally
        {
            watch.Kill(entireProcessTree: true);
            watch.WaitForExit(5000);
            cluster.Etcd.Etcdctl("del", key + "-sentinel");
        }
    }

    [Test]
    public async Task At_start_overlayd_deletes_this_nodes_pod_keys_that_have_no_file_and_skips_a_bad_file_with_one_warning()
    {
        StartDaemon();
        string node = Node.LeaseSubnet.Replace('/', '-');
        Node.KillDaemon();
        string gone = PodKey("shop", "removed-while-down");
        string elsewhere = PodKey("shop", "on-another-node");
        cluster.Etcd.Etcdctl("put", gone, $$"""{"namespace":"shop","name":"removed-while-down","node":"{{node}}","ips":["198.18.200.9"]}""").EnsureSuccess();
        cluster.Etcd.Etcdctl("put", elsewhere, """{"namespace":"shop","name":"on-another-node","node":"198.18.201.0-24","ips":["198.18.201.9"]}""").EnsureSuccess();
        string podsDir = Path.Combine(Node.Folder, "pods");
        Directory.CreateDirectory(podsDir);
        string bad = Path.Combine(podsDir, "shop_broken.json");
        File.WriteAllText(bad, "{not a pod");
        File.WriteAllText(Path.Combine(podsDir, "shop_kept.json"), $$$"""{"namespace":"shop","name":"kept","node":"{{{node}}}","ips":["198.18.200.10"],"labels":{"app":"web"}}""");
        try
        {
            StartDaemon();

            Assert.That(Poll.Until(() => Stored(gone) is null && Stored(PodKey("shop", "kept")) is not null, TimeSpan.FromSeconds(15)), Is.True, "the stale key goes, the file's pod comes");
            Assert.That(Stored(elsewhere), Is.Not.Null, "another node's pod is not this node's to delete");
            await Task.Delay(TimeSpan.FromSeconds(6)); // past a rescan, which must not warn again
            Assert.That(CountOf(Node.DaemonOutput, $"pods: skipping {bad}: not a pod"), Is.EqualTo(1), Node.DaemonOutput);
            Assert.That(Node.Daemon!.HasExited, Is.False);
        }
        finally
        {
            File.Delete(bad);
            File.Delete(Path.Combine(podsDir, "shop_kept.json"));
            cluster.Etcd.Etcdctl("del", elsewhere);
        }
    }

    private static int CountOf(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private void StartDaemon(params string[] args)
    {
        Node.StartDaemon(args);
        Node.WaitForSubnetFile();
    }

    private string NewPodName()
    {
        string pod = $"{cluster.Lab.Prefix}-ep{++podCounter}";
        pods.Add(pod);
        return pod;
    }

    private Task<CliResult> RunPodAsync(string pod, params string[] flags) =>
        Cli.RunAsync(
            ["pod", "run", pod, "--node", Node.Ns.Name, "--subnet-file", Node.SubnetFile, "--cni-path", AppContext.BaseDirectory + ":/usr/lib/cni",
                "--cni-data-dir", Path.Combine(folder, "cni"), "--ipam-data-dir", Path.Combine(folder, "ipam"), "--pod-state-dir", State,
                "--dns-policy", "None", "--nameserver", "127.0.0.1", .. flags],
            new Dictionary<string, string?>(), "");

    private string PodKey(string ns, string pod) => $"{cluster.Prefix}/pods/{ns}/{pod}";

    /// <summary>The key's value and lease, or null when etcd does not hold it.</summary>
    private (string Value, long Lease)? Stored(string key)
    {
        using var json = JsonDocument.Parse(cluster.Etcd.Etcdctl("get", key, "-w", "json").EnsureSuccess().StdOut);
        if (!json.RootElement.TryGetProperty("kvs", out JsonElement kvs) || kvs.GetArrayLength() == 0)
        {
            return null;
        }

        JsonElement kv = kvs[0];
        string value = Encoding.UTF8.GetString(Convert.FromBase64String(kv.GetProperty("value").GetString()!));
        return (value, kv.TryGetProperty("lease", out JsonElement lease) ? lease.GetInt64() : 0);
    }

    private long RemainingTtl(long lease)
    {
        using var json = JsonDocument.Parse(cluster.Etcd.Etcdctl("lease", "timetolive", lease.ToString("x", System.Globalization.CultureInfo.InvariantCulture), "-w", "json").EnsureSuccess().StdOut);
        return json.RootElement.GetProperty("ttl").GetInt64();
    }

    private static string PodAddress(string pod)
    {
        JsonElement addresses = JsonDocument.Parse(Shell.Run("ip", "-n", pod, "-j", "-4", "addr", "show", "dev", "eth0").EnsureSuccess().StdOut).RootElement;
        return IPAddress.Parse(addresses[0].GetProperty("addr_info")[0].GetProperty("local").GetString()!).ToString();
    }
}
