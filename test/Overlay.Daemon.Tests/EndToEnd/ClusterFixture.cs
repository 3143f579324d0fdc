using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>Where the overlayd built beside the tests lives.</summary>
internal static class Daemon
{
    public static string Path => System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory, "overlayd.dll");

    public static Task<OverlayCluster> StartClusterAsync(int nodes = 3, IReadOnlyList<string>? args = null, string? config = null, bool start = true) =>
        OverlayCluster.StartAsync(ClusterOptions(nodes, args, config, start));

    public static OverlayClusterOptions ClusterOptions(int nodes = 3, IReadOnlyList<string>? args = null, string? config = null, bool start = true, bool ipv6Underlay = false) => new()
    {
        IPv6Underlay = ipv6Underlay,
        Overlayd = Path,
        Nodes = nodes,
        DaemonArgs = args ?? ["--resync-interval", "5s"],
        NetworkConfig = config ?? "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}",
        StartDaemons = start,
    };
}

/// <summary>A cluster for the whole fixture with a pod on every node; the daemons' logs go with a failed test.</summary>
public abstract class PodClusterFixture
{
    protected OverlayCluster Cluster { get; private set; } = null!;

    /// <summary>The cluster this fixture runs on.</summary>
    protected abstract OverlayClusterOptions ClusterOptions();

    [OneTimeSetUp]
    public async Task StartCluster()
    {
        Root.Require();
        Cluster = await OverlayCluster.StartAsync(ClusterOptions());
        foreach (ClusterNode node in Cluster.Nodes)
        {
            node.WaitForSubnetFile();
            node.AddPod();
        }
    }

    [OneTimeTearDown]
    public async Task StopCluster()
    {
        if (Cluster is not null)
        {
            await Cluster.DisposeAsync();
        }
    }

    [TearDown]
    public void AttachLogs() => Cluster?.AttachLogsIfFailed();
}
