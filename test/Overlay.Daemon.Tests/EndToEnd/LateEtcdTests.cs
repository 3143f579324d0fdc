using System.Diagnostics;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>
/// After a power cut nodes boot before etcd. However long etcd was away, a waiting node is ready within 2 s of
/// etcd answering: every wait on its way (the call retries, the loops, gRPC's reconnects) is capped near a second.
/// </summary>
[NonParallelizable]
public class LateEtcdTests
{
    /// <summary>Long enough for every backoff on the way to have reached its cap many times over.</summary>
    private static readonly TimeSpan EtcdAway = TimeSpan.FromSeconds(50);

    private static readonly TimeSpan ReadyAfterEtcd = TimeSpan.FromSeconds(2);

    private OverlayCluster? _cluster;

    [TearDown]
    public async Task StopCluster()
    {
        _cluster?.AttachLogsIfFailed();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [Test]
    public async Task A_node_started_long_before_etcd_is_ready_within_2_s_of_etcd_answering()
    {
        Root.Require();
        _cluster = await Daemon.StartClusterAsync(nodes: 1, start: false);
        ClusterNode node = _cluster.Nodes[0];
        await _cluster.Etcd.StopAsync();

        node.StartDaemon();
        await Task.Delay(EtcdAway);
        Assert.That(node.Daemon!.HasExited, Is.False, node.DaemonOutput);
        Assert.That(node.ReadSubnetFile(), Is.Null);
        Assert.That(node.DaemonOutput, Does.Contain("waiting for the network config").And.Contain("etcd is unreachable"));

        // etcd answers when its health endpoint does, seen from the node: a probe in the node's namespace.
        var clock = Stopwatch.StartNew();
        Task<TimeSpan> answered = WhenEtcdAnswersAsync(node, _cluster.Etcd.Endpoint, clock);
        Task starting = _cluster.Etcd.StartAgainAsync();
        Assert.That(Poll.Until(() => IsReady(node), TimeSpan.FromSeconds(30)), Is.True, $"overlayd never became ready:\n{node.DaemonOutput}");
        TimeSpan ready = clock.Elapsed;
        await starting;
        TimeSpan etcdAnswered = await answered;

        // The probe can see etcd late on a busy machine; overlayd reading the config proves etcd answered by then.
        DateTime answeredAt = DateTime.Now - (clock.Elapsed - etcdAnswered);
        DateTime readAt = LogTime(node, "is usable now", answeredAt);
        TimeSpan etcdUp = readAt < answeredAt ? etcdAnswered - (answeredAt - readAt) : etcdAnswered;
        TimeSpan late = ready - etcdUp;
        string measured = $"etcd away {EtcdAway.TotalSeconds} s; the probe saw etcd answer {etcdAnswered.TotalMilliseconds:0} ms after its start (at {answeredAt:HH:mm:ss.fff}); "
            + $"overlayd read the config at {readAt:HH:mm:ss.fff}, was ready at {LogTime(node, "ready:", answeredAt):HH:mm:ss.fff} and seen ready {late.TotalMilliseconds:0} ms after etcd answered";
        await TestContext.Out.WriteLineAsync(measured);
        Assert.That(late, Is.LessThanOrEqualTo(ReadyAfterEtcd), $"{measured}\n{node.DaemonOutput}");
    }

    /// <summary>The time overlayd printed (HH:mm:ss.fff, local) on its first line containing <paramref name="text"/>, on the day of <paramref name="near"/>.</summary>
    private static DateTime LogTime(ClusterNode node, string text, DateTime near)
    {
        string line = node.DaemonOutput.Split('\n').First(l => l.Contains(text, StringComparison.Ordinal)).Trim();
        TimeOnly time = TimeOnly.ParseExact(line.Split(' ')[0], "HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture);
        DateTime at = near.Date + time.ToTimeSpan();
        return at - near > TimeSpan.FromHours(12) ? at.AddDays(-1) : near - at > TimeSpan.FromHours(12) ? at.AddDays(1) : at;
    }

    private static bool IsReady(ClusterNode node) =>
        node.ReadSubnetFile() is not null && node.DaemonOutput.Contains("ready:", StringComparison.Ordinal);

    /// <summary>
    /// Asks etcd's /health from the node every 20 ms, with bash's /dev/tcp rather than a curl per try, and
    /// returns the clock's reading when it first says healthy.
    /// </summary>
    private static async Task<TimeSpan> WhenEtcdAnswersAsync(ClusterNode node, string endpoint, Stopwatch clock)
    {
        var uri = new Uri(endpoint);
        string probe = $$"""
            while :; do
              if exec 3<>/dev/tcp/{{uri.Host}}/{{uri.Port}}; then
                printf 'GET /health HTTP/1.1\r\nHost: etcd\r\nConnection: close\r\n\r\n' >&3
                IFS= read -r -d '' -t 1 answer <&3
                exec 3<&-
                case "$answer" in *'"health":"true"'*) exit 0 ;; esac
              fi 2>/dev/null
              sleep 0.02
            done
            """;
        CommandResult result = await Shell.RunAsync("ip", ["netns", "exec", node.Ns.Name, "bash", "-c", probe], TimeSpan.FromSeconds(60));
        TimeSpan answered = clock.Elapsed;
        result.EnsureSuccess();
        return answered;
    }
}
