using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>
/// The NativeAOT overlayd, the build the docs recommend: scripts/test.sh publishes it once and names it in
/// OVERLAY_AOT_OVERLAYD. Trimming and native compilation can break what the JIT build runs (reflection, JSON
/// without source generation, gRPC), so the native binary has to start a node, not only print its version.
/// </summary>
[NonParallelizable]
public class NativeAotTests
{
    public const string BinaryVariable = "OVERLAY_AOT_OVERLAYD";

    [Test]
    public void The_native_overlayd_is_an_executable_that_prints_the_version_of_the_managed_build()
    {
        string binary = NativeBinary();

        CommandResult native = Shell.Run(binary, "--version");
        CommandResult managed = Shell.Run("dotnet", Daemon.Path, "--version");

        Assert.That(File.ReadAllBytes(binary)[..4], Is.EqualTo("\u007fELF"u8.ToArray()), "a native ELF executable, not an assembly");
        Assert.That(native.ExitCode, Is.Zero, native.StdErr);
        Assert.That(native.StdOut, Does.Match(@"^\d+\.\d+\.\d+"));
        Assert.That(native.StdOut, Is.EqualTo(managed.StdOut));
    }

    [Test]
    public async Task A_node_running_the_native_overlayd_becomes_ready()
    {
        string binary = NativeBinary();
        Root.Require();
        await using OverlayCluster cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = binary,
            Nodes = 1,
            DaemonArgs = ["--resync-interval", "5s"],
        });
        ClusterNode node = cluster.Nodes[0];
        try
        {
            bool ready = Poll.Until(() => node.DaemonOutput.Contains("ready: ", StringComparison.Ordinal) || node.Daemon!.HasExited, TimeSpan.FromSeconds(30));

            Assert.That(ready && !node.Daemon!.HasExited, Is.True, "overlayd should print its ready line and keep running");
            Assert.That(node.WaitForSubnetFile()["FLANNEL_NETWORK"], Is.EqualTo("198.18.0.0/16"));
            Assert.That(cluster.LeasesInEtcd().Keys, Is.EqualTo(new[] { $"{cluster.Prefix}/subnets/{node.LeaseSubnet.Replace('/', '-')}" }));
            Assert.That(Kernel.HttpGet(node, "/readyz"), Does.StartWith("HTTP/1.1 200"));
            Assert.That(node.StopDaemon(), Is.Zero, "SIGTERM ends the native overlayd cleanly");
        }
        finally
        {
            cluster.AttachLogsIfFailed();
        }
    }

    /// <summary>The published binary; without OVERLAY_AOT_OVERLAYD the test is skipped, and fails under CI=true.</summary>
    internal static string NativeBinary()
    {
        string? binary = Environment.GetEnvironmentVariable(BinaryVariable);
        if (string.IsNullOrEmpty(binary))
        {
            Requirement.Unmet($"{BinaryVariable} is not set: scripts/test.sh publishes overlayd with NativeAOT and sets it");
        }

        Assert.That(File.Exists(binary), Is.True, $"{BinaryVariable}={binary}: no such file");
        return binary;
    }
}
