using System.Diagnostics;
using System.Text.RegularExpressions;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>A node whose nft program is missing: it says so once with the fix, tells systemd what it waits for, and recovers when nft appears.</summary>
[NonParallelizable]
public class MissingDependencyTests
{
    [Test]
    public async Task Without_nft_the_node_names_it_once_waits_saying_so_and_becomes_ready_when_nft_is_installed()
    {
        Root.Require();
        await using OverlayCluster cluster = await Daemon.StartClusterAsync(nodes: 1, start: false);
        ClusterNode node = cluster.Nodes[0];

        // overlayd's PATH: a folder of the test's (empty until nft is "installed") and the system's, without /usr/sbin where nft lives.
        string tools = Directory.CreateTempSubdirectory($"ovt-path-{Environment.ProcessId}-").FullName;
        using var notify = new NotifySocket("nft");
        try
        {
            node.StartDaemon(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path, ["PATH"] = $"{tools}:/usr/bin:/bin" }, "-v=2");

            string? waiting = await notify.WaitForStatusAsync("could not start nft", TimeSpan.FromSeconds(60));
            Assert.That(waiting, Does.Contain("apt-get install nftables"), "STATUS says what the node waits for and how to fix it");
            Assert.That(notify.Statuses, Does.Contain("applying the nftables rules"), "the lease is held: STATUS has moved past 'acquiring a subnet lease'");

            // Retries pass (at most a second apart) before nft appears: not ready, and the log must not repeat itself.
            Assert.That(await notify.WaitForAsync(m => m == "READY=1", TimeSpan.FromSeconds(3)), Is.Null);
            File.CreateSymbolicLink(Path.Combine(tools, "nft"), "/usr/sbin/nft");
            var installed = Stopwatch.StartNew();

            Assert.That(await notify.WaitForAsync(m => m == "READY=1", TimeSpan.FromSeconds(30)), Is.Not.Null, "ready without a restart once nft is there");
            Assert.That(installed.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "the retry schedule is bounded (every second at most)");
            Assert.That(File.Exists(node.SubnetFile), Is.True);
            Assert.That(await notify.WaitForAsync(m => Regex.IsMatch(m, @"^STATUS=.*: \d+ peers"), TimeSpan.FromSeconds(10)), Is.Not.Null);
            Assert.That(node.StopDaemon(), Is.Zero);

            string log = node.DaemonOutput;
            Assert.That(Regex.Count(log, "apt-get install nftables"), Is.EqualTo(1), "the missing program is named once, with the fix:\n" + log);
            Assert.That(Regex.Count(log, "has no effect"), Is.EqualTo(1), "-v=2 is accepted with one warning:\n" + log);
            Assert.That(log, Does.Contain("--v (flag --v) has no effect"));
        }
        finally
        {
            cluster.AttachLogsIfFailed();
            Directory.Delete(tools, recursive: true);
        }
    }
}
