using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>Where the overlayd built beside the tests lives.</summary>
internal static class Daemon
{
    public static string Path => System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory, "overlayd.dll");

    public static Task<OverlayCluster> StartClusterAsync(int nodes = 3, IReadOnlyList<string>? args = null, string? config = null, bool start = true) =>
        OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = Path,
            Nodes = nodes,
            DaemonArgs = args ?? ["--resync-interval", "5s"],
            NetworkConfig = config ?? "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}",
            StartDaemons = start,
        });
}
