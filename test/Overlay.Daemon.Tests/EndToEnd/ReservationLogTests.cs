using System.Text.RegularExpressions;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>A reservation made ahead of its node (no VTEP MAC yet) is normal, and overlayd says so once.</summary>
[NonParallelizable]
public class ReservationLogTests
{
    [Test]
    public async Task A_reservation_waiting_for_its_node_is_logged_once_at_information_level_and_programmed_once_the_node_starts()
    {
        Root.Require();
        // Passes every second: a full reconcile each time, so a line logged per pass would show many times.
        await using OverlayCluster cluster = await Daemon.StartClusterAsync(nodes: 2, args: ["--resync-interval", "1s"]);
        try
        {
            foreach (ClusterNode node in cluster.Nodes)
            {
                node.WaitForSubnetFile();
            }

            // What an operator does before the third node exists: pin a subnet to its address, without a VTEP MAC.
            string overlayctl = Path.Combine(TestContext.CurrentContext.TestDirectory, "overlayctl.dll");
            CommandResult reserve = cluster.Switch.Exec(["dotnet", overlayctl, .. cluster.EtcdConnectionArgs, "--etcd-prefix", cluster.Prefix,
                "leases", "reserve", "198.18.250.0/24", "--public-ip", "192.0.2.13"]);
            Assert.That(reserve.ExitCode, Is.Zero, reserve.ToString());
            Assert.That(cluster.LeasesInEtcd()[cluster.Prefix + "/subnets/198.18.250.0-24"], Does.Not.Contain("BackendData"), "reserve without --vtep-mac stores no backend data");

            // Several passes of both nodes, with a lease change in between.
            Assert.That(Poll.Until(() => cluster.Nodes.All(n => WaitingLines(n).Count > 0), TimeSpan.FromSeconds(20)), Is.True, "every node reports the reservation");
            await Task.Delay(TimeSpan.FromSeconds(5));
            // A lease (with an etcd lease, so no reservation) without backend data is broken, not waiting.
            string grant = cluster.Etcdctl("lease", "grant", "600").EnsureSuccess().StdOut;
            string leaseId = Regex.Match(grant, "lease ([0-9a-f]+) granted").Groups[1].Value;
            cluster.Etcdctl("put", "--lease=" + leaseId, cluster.Prefix + "/subnets/198.18.251.0-24", "{\"PublicIP\":\"192.0.2.14\",\"BackendType\":\"vxlan\"}").EnsureSuccess();
            await Task.Delay(TimeSpan.FromSeconds(3));

            foreach (ClusterNode node in cluster.Nodes)
            {
                IReadOnlyList<string> lines = WaitingLines(node);
                Assert.That(lines, Has.Count.EqualTo(1), $"{node.Name}:\n{node.DaemonOutput}");
                Assert.That(lines[0], Does.Contain(" info: "), "a reservation waiting for its node is no warning");
                Assert.That(lines[0], Does.Contain("198.18.250.0-24").And.Contain("192.0.2.13"));
                Assert.That(Regex.Count(node.DaemonOutput, @"198\.18\.251\.0-24 is not programmed"), Is.EqualTo(1), $"a lease (not a reservation) without backend data stays a warning, once:\n{node.DaemonOutput}");
                Assert.That(node.DaemonOutput, Does.Match(@" warn: .*198\.18\.251\.0-24 is not programmed"), "and at warning level");
            }

            // The node arrives, takes its reservation, writes its VNI and VTEP MAC into it; the others program it.
            ClusterNode third = cluster.AddNode();
            third.StartDaemon();
            Assert.That(third.WaitForSubnetFile()["FLANNEL_SUBNET"], Is.EqualTo("198.18.250.1/24"));
            Assert.That(Poll.Until(() => cluster.LeasesInEtcd()[cluster.Prefix + "/subnets/198.18.250.0-24"].Contains("\"VtepMAC\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), Is.True);
            foreach (ClusterNode node in cluster.Nodes.Take(2))
            {
                Assert.That(Poll.Until(() => Kernel.RoutesOnDevice(node.Ns).Any(r => r.StartsWith("198.18.250.0/24 via 198.18.250.0", StringComparison.Ordinal)), TimeSpan.FromSeconds(10)), Is.True,
                    $"{node.Name} programs the reservation once its node published a VTEP MAC");
            }
        }
        finally
        {
            cluster.AttachLogsIfFailed();
        }
    }

    /// <summary>overlayd's log lines (one per line: time, level, category, message) about the reservation 198.18.250.0-24.</summary>
    private static List<string> WaitingLines(ClusterNode node) =>
        [.. node.DaemonOutput.Split('\n').Where(l => l.Contains("198.18.250.0-24", StringComparison.Ordinal) && !l.Contains("acquired", StringComparison.Ordinal))];
}
