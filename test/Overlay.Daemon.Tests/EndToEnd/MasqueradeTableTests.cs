using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>overlayd's nftables tables follow its flags across restarts.</summary>
[NonParallelizable]
public class MasqueradeTableTests
{
    /// <summary>The families of the tables named "overlay" in the node's namespace, from <c>nft -j list tables</c>.</summary>
    private static string[] OverlayTables(ClusterNode node)
    {
        using var listed = JsonDocument.Parse(node.Ns.ExecChecked("nft", "-j", "list", "tables").StdOut);
        return [.. listed.RootElement.GetProperty("nftables").EnumerateArray()
            .Where(item => item.TryGetProperty("table", out JsonElement table) && table.GetProperty("name").GetString() == "overlay")
            .Select(item => item.GetProperty("table").GetProperty("family").GetString()!)];
    }

    [Test]
    public async Task A_restart_with_masquerading_and_forward_rules_off_removes_the_table_an_earlier_run_left()
    {
        Root.Require();
        await using OverlayCluster cluster = await Daemon.StartClusterAsync(nodes: 1, args: ["--resync-interval", "5s", "--ip-masq"]);
        try
        {
            ClusterNode node = cluster.Nodes[0];
            node.WaitForSubnetFile();
            Assert.That(Poll.Until(() => node.DaemonOutput.Contains("ready:", StringComparison.Ordinal), TimeSpan.FromSeconds(20)), Is.True, "overlayd did not get ready");
            Assert.That(OverlayTables(node), Is.EqualTo(new[] { "ip" }), "the first run with --ip-masq made no ip overlay table");

            Assert.That(node.StopDaemon(), Is.Zero, node.DaemonOutput);
            Assert.That(OverlayTables(node), Is.EqualTo(new[] { "ip" }), "the table stays after a stop");
            node.StartDaemon("--ip-masq=false", "--iptables-forward-rules=false");

            Assert.That(Poll.Until(() => ProcessOutput.Of(node.Daemon!).Contains("ready:", StringComparison.Ordinal), TimeSpan.FromSeconds(20)), Is.True,
                "the restarted overlayd did not get ready:\n" + node.DaemonOutput);
            Assert.That(OverlayTables(node), Is.Empty, "a table left by the earlier run is still there");
        }
        finally
        {
            cluster.AttachLogsIfFailed();
        }
    }
}
