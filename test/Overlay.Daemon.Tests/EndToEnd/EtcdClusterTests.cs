using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>
/// Three nodes with pods on a 3-member etcd cluster (every overlayd given all three endpoints). Faults of members and of
/// the quorum cost no ping, no renewal and no lease change; the kernel ends equal to etcd's leases.
/// </summary>
[NonParallelizable]
public partial class EtcdClusterTests : PodClusterFixture
{
    /// <summary>A lease of 5 min 8 s renewed 5 min before it expires: a renewal every 8 s, so each fault sees one.</summary>
    private static readonly string[] ShortLeases = ["--resync-interval", "5s", "--subnet-lease-ttl", "5m8s", "--subnet-lease-renew-margin", "5"];

    private static readonly TimeSpan ProgrammedEverywhere = TimeSpan.FromSeconds(2);

    private EtcdCluster Etcd => Cluster.EtcdCluster!;

    protected override OverlayClusterOptions ClusterOptions() => new()
    {
        Overlayd = Daemon.Path,
        Nodes = 3,
        EtcdMembers = 3,
        DaemonArgs = ShortLeases,
    };

    [SetUp]
    public async Task EveryMemberRunsAndTheClusterConverged()
    {
        await Task.WhenAll(Etcd.Members.Where(m => m.ProcessId is null).Select(m => Etcd.RestartAsync(m)));
        Etcd.WaitForLeader();
        Assert.That(Poll.Until(() => KernelAgreement.Differences(Cluster).Count == 0, TimeSpan.FromSeconds(20)), Is.True,
            string.Join("\n", KernelAgreement.Differences(Cluster)));
    }

    [TearDown]
    public void AttachEtcdLogs() => Etcd.AttachLogsIfFailed();

    [Test]
    public async Task Killing_the_leader_then_each_other_member_loses_no_ping_no_renewal_and_no_lease_change()
    {
        List<ClusterNode> podNodes = [.. Cluster.Nodes.Where(n => n.Pod is not null)];
        await TestContext.Out.WriteLineAsync("etcd connections before the faults:\n" + Connections(podNodes));
        using var pings = ContinuousPings.Start(podNodes);

        EtcdMember leader = Etcd.WaitForLeader();
        List<EtcdMember> order = [leader, .. Etcd.Members.Where(m => m != leader)];
        TimeSpan? joined = null;
        foreach (EtcdMember member in order)
        {
            Dictionary<string, long> before = EtcdLeaseIds();
            await Etcd.KillAsync(member);
            EtcdMember next = Etcd.WaitForLeader();
            Assert.That(next, Is.Not.SameAs(member));

            if (member != leader && joined is null)
            {
                joined = JoinAndMeasure();
            }

            // Every node renews (a new etcd lease on its key) while this member is down.
            Assert.That(Poll.Until(() => Renewed(before, EtcdLeaseIds()), TimeSpan.FromSeconds(25)), Is.True,
                $"not every lease was renewed with {member} down: before {Describe(before)}, now {Describe(EtcdLeaseIds())}");
            await Etcd.RestartAsync(member);
        }

        IReadOnlyList<PingCount> counts = pings.Stop();
        await TestContext.Out.WriteLineAsync($"node joined with a member down: programmed everywhere {joined!.Value.TotalMilliseconds:0} ms after its lease was in etcd; pings: {string.Join(", ", counts)}");
        Assert.That(counts.Select(c => c.Lost), Is.All.Zero, string.Join("\n", counts.Select(c => c.Output)));
        Assert.That(counts.Select(c => c.Sent), Is.All.GreaterThan(100));
        Assert.That(joined, Is.LessThanOrEqualTo(ProgrammedEverywhere));
        Assert.That(Poll.Until(() => KernelAgreement.Differences(Cluster).Count == 0, TimeSpan.FromSeconds(2)), Is.True,
            string.Join("\n", KernelAgreement.Differences(Cluster)));
    }

    [Test]
    public async Task Sixty_seconds_without_a_quorum_keep_the_data_plane_say_so_and_are_caught_up_without_a_restart()
    {
        List<ClusterNode> podNodes = [.. Cluster.Nodes.Where(n => n.Pod is not null)];
        List<ClusterNode> running = [.. Cluster.Nodes];
        Dictionary<ClusterNode, int> pids = running.ToDictionary(n => n, n => n.Daemon!.Id);
        EtcdMember[] down = [Etcd.Members[1], Etcd.Members[2]];
        using var pings = ContinuousPings.Start(podNodes);
        Dictionary<string, long> before = EtcdLeaseIds();
        var outage = Stopwatch.StartNew();

        await Task.WhenAll(down.Select(m => Etcd.KillAsync(m)));
        Assert.That(Poll.Until(() => running.All(n => Kernel.HttpGet(n, "/readyz").Contains("etcd is unreachable", StringComparison.Ordinal)), TimeSpan.FromSeconds(40)), Is.True,
            $"/readyz did not say etcd is unreachable: {Kernel.HttpGet(running[0], "/readyz")}");
        await TestContext.Out.WriteLineAsync($"every /readyz said etcd is unreachable {outage.Elapsed.TotalSeconds:0.0} s after the quorum was lost");
        string readyz = Kernel.HttpGet(running[0], "/readyz");
        string metrics = Kernel.HttpGet(running[0], "/metrics");

        // A node started without a quorum waits, and joins when the quorum returns.
        await Task.Delay(TimeSpan.FromSeconds(50) - outage.Elapsed);
        ClusterNode newcomer = Cluster.AddNode();
        newcomer.StartDaemon();
        await Task.Delay(TimeSpan.FromSeconds(60) - outage.Elapsed);
        bool allAlive = running.All(n => n.Daemon is { HasExited: false } d && d.Id == pids[n]);

        await Task.WhenAll(down.Select(m => Etcd.RestartAsync(m)));
        var back = Stopwatch.StartNew();
        TimeSpan joined = MeasureProgrammed(newcomer, TimeSpan.FromSeconds(30));
        Assert.That(Poll.Until(() => running.All(n => Kernel.HttpGet(n, "/readyz").StartsWith("HTTP/1.1 200", StringComparison.Ordinal)), TimeSpan.FromSeconds(20)), Is.True,
            $"/readyz did not come back: {Kernel.HttpGet(running[0], "/readyz")}");
        TimeSpan readyAgain = back.Elapsed;
        Assert.That(Poll.Until(() => Renewed(before, EtcdLeaseIds()), TimeSpan.FromSeconds(25)), Is.True,
            "the leases were not renewed after the quorum returned");
        IReadOnlyList<PingCount> counts = pings.Stop();

        await TestContext.Out.WriteLineAsync($"quorum back: the newcomer was programmed everywhere {joined.TotalMilliseconds:0} ms after its lease was in etcd, every /readyz 200 after {readyAgain.TotalSeconds:0.0} s; pings: {string.Join(", ", counts)}");
        Assert.That(allAlive, Is.True, "an overlayd exited or was restarted without a quorum");
        Assert.That(readyz, Does.StartWith("HTTP/1.1 503").And.Contain("etcd is unreachable since"));
        Assert.That(metrics, Does.Contain("\noverlay_etcd_reachable 0\n"));
        Assert.That(counts.Select(c => c.Lost), Is.All.Zero, string.Join("\n", counts.Select(c => c.Output)));
        Assert.That(counts.Select(c => c.Sent), Is.All.GreaterThan(500));
        Assert.That(Poll.Until(() => KernelAgreement.Differences(Cluster).Count == 0, TimeSpan.FromSeconds(2)), Is.True,
            string.Join("\n", KernelAgreement.Differences(Cluster)));
    }

    /// <summary>A new node joins now; the time from its lease being in etcd to every node (it too) routing to every other.</summary>
    private TimeSpan JoinAndMeasure()
    {
        ClusterNode newcomer = Cluster.AddNode();
        newcomer.StartDaemon();
        return MeasureProgrammed(newcomer, TimeSpan.FromSeconds(30));
    }

    private TimeSpan MeasureProgrammed(ClusterNode newcomer, TimeSpan leaseTimeout)
    {
        Assert.That(Poll.Until(() => LeaseOf(newcomer) is not null, leaseTimeout), Is.True, $"{newcomer.Name} got no lease:\n{newcomer.DaemonOutput}");
        var clock = Stopwatch.StartNew();
        string subnet = LeaseOf(newcomer)!;
        string route = $"{subnet} via {subnet.Split('/')[0]}";
        List<ClusterNode> others = [.. Cluster.Nodes.Where(n => n != newcomer)];
        bool programmed = Poll.Until(() => others.All(n => Kernel.RoutesOnDevice(n.Ns).Contains(route)) && RoutesOnDeviceIfAny(newcomer).Count == others.Count, TimeSpan.FromSeconds(20));
        TimeSpan elapsed = clock.Elapsed;
        Assert.That(programmed, Is.True, $"{newcomer.Name} ({subnet}) was not programmed everywhere within 20 s");
        return elapsed;
    }

    /// <summary>The node's routes on the VXLAN device; none while it has no device yet.</summary>
    private static List<string> RoutesOnDeviceIfAny(ClusterNode node) =>
        node.Ns.Exec("ip", "link", "show", Kernel.Device).Succeeded ? Kernel.RoutesOnDevice(node.Ns) : [];

    /// <summary>The subnet of the lease in etcd whose PublicIP is the node's, or null.</summary>
    private string? LeaseOf(ClusterNode node)
    {
        foreach ((string key, string value) in Cluster.LeasesInEtcd())
        {
            using var json = JsonDocument.Parse(value);
            if (json.RootElement.GetProperty("PublicIP").GetString() == node.UnderlayAddress)
            {
                return key[(key.LastIndexOf('/') + 1)..].Replace('-', '/');
            }
        }

        return null;
    }

    /// <summary>Lease key → the etcd lease attached to it, asked of every member.</summary>
    private Dictionary<string, long> EtcdLeaseIds()
    {
        CommandResult result = Etcd.Etcdctl("get", "--prefix", Cluster.Prefix + "/subnets/", "-w", "json");
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        if (!result.Succeeded)
        {
            return ids;
        }

        using var json = JsonDocument.Parse(result.StdOut);
        if (json.RootElement.TryGetProperty("kvs", out JsonElement kvs))
        {
            foreach (JsonElement kv in kvs.EnumerateArray())
            {
                string key = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(kv.GetProperty("key").GetString()!));
                ids[key] = kv.TryGetProperty("lease", out JsonElement lease) ? lease.GetInt64() : 0;
            }
        }

        return ids;
    }

    /// <summary>Every key of <paramref name="before"/> is now on another etcd lease (the keeper's renewal grants a new one).</summary>
    private static bool Renewed(Dictionary<string, long> before, Dictionary<string, long> now) =>
        before.Count > 0 && before.All(b => now.TryGetValue(b.Key, out long id) && id != b.Value && id != 0);

    private static string Describe(Dictionary<string, long> ids) => string.Join(", ", ids.Select(i => $"{i.Key}={i.Value.ToString(CultureInfo.InvariantCulture)}"));

    /// <summary>Each node's established TCP connections to etcd's client port (ss in its namespace).</summary>
    private static string Connections(IEnumerable<ClusterNode> nodes) =>
        string.Join("\n", nodes.Select(n => $"{n.Name}: {string.Join(" ", EstablishedToEtcd().Matches(n.Ns.Exec("ss", "-tn", "state", "established").StdOut).Select(m => m.Value))}"));

    [GeneratedRegex(@"192\.0\.2\.\d+:2379")]
    private static partial Regex EstablishedToEtcd();

    /// <summary>What one ping from a pod to the next node's pod counted.</summary>
    internal sealed record PingCount(string From, string To, int Sent, int Lost, string Output)
    {
        public override string ToString() => $"{From}→{To} {Lost.ToString(CultureInfo.InvariantCulture)}/{Sent.ToString(CultureInfo.InvariantCulture)} lost";
    }

    /// <summary>Every pod pings the next node's pod every 0.1 s until <see cref="Stop"/> (SIGINT: ping prints its counts).</summary>
    internal sealed class ContinuousPings : IDisposable
    {
        private readonly List<(ClusterNode From, ClusterNode To, Process Ping)> _pings;

        private ContinuousPings(List<(ClusterNode, ClusterNode, Process)> pings) => _pings = pings;

        public static ContinuousPings Start(IReadOnlyList<ClusterNode> nodes) =>
            new([.. nodes.Select((n, i) => (n, nodes[(i + 1) % nodes.Count], n.Pod!.Start("ping", ["-n", "-i", "0.1", "-W", "1", nodes[(i + 1) % nodes.Count].PodAddress])))]);

        public IReadOnlyList<PingCount> Stop()
        {
            foreach ((_, _, Process ping) in _pings)
            {
                Shell.Run("kill", "-INT", ping.Id.ToString(CultureInfo.InvariantCulture));
            }

            var counts = new List<PingCount>();
            foreach ((ClusterNode from, ClusterNode to, Process ping) in _pings)
            {
                Assert.That(ping.WaitForExit(10_000), Is.True, "ping did not stop on SIGINT");
                ping.WaitForExit();
                ProcessOutput.WaitForEnd(ping, TimeSpan.FromSeconds(5));
                string output = ping.Output;
                Match match = Regex.Match(output, @"(\d+) packets transmitted, (\d+) received");
                Assert.That(match.Success, Is.True, $"no counts from ping: {output}");
                int sent = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
                counts.Add(new PingCount(from.Name, to.Name, sent, sent - int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture), output.Length > 2000 ? output[^2000..] : output));
            }

            return counts;
        }

        public void Dispose()
        {
            foreach ((_, _, Process ping) in _pings)
            {
                if (!ping.HasExited)
                {
                    ping.Kill();
                }
            }
        }
    }
}
