using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>The README's main command keeps working: the demo program it runs, end to end.</summary>
[NonParallelizable]
public class DemoTests
{
    [Test]
    public void The_demo_shows_leases_pods_and_a_full_connectivity_matrix_then_leaves_nothing_behind()
    {
        Root.Require();
        IReadOnlyList<string> before = NetworkLab.ListNamespaceNames();

        CommandResult demo = Shell.RunAsync("dotnet", [Path.Combine(TestContext.CurrentContext.TestDirectory, "overlay-demo.dll")], TimeSpan.FromMinutes(3))
            .GetAwaiter().GetResult();

        Assert.That(demo.ExitCode, Is.Zero, demo.StdOut + demo.StdErr);
        Assert.That(demo.StdOut, Does.Contain("SUBNET").And.Contain("VTEP MAC"), "the lease table");
        Assert.That(demo.StdOut, Does.Contain("search default.svc.cluster.local svc.cluster.local cluster.local"), "a pod's resolv.conf");
        Assert.That(System.Text.RegularExpressions.Regex.Count(demo.StdOut, @"\bok\b"), Is.EqualTo(9), "3 x 3 matrix");
        Assert.That(demo.StdOut, Does.Not.Contain("FAIL"));
        Assert.That(System.Text.RegularExpressions.Regex.Count(demo.StdOut, "removed pod "), Is.EqualTo(3));
        Assert.That(NetworkLab.ListNamespaceNames(), Is.EquivalentTo(before), "namespaces left behind");
    }
}
