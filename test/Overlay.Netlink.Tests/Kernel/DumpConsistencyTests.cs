using System.Net;
using NUnit.Framework;

namespace Overlay.Netlink.Tests.Kernel;

public class DumpConsistencyTests : NamespaceFixture
{
    [Test]
    public void Link_dumps_during_link_churn_list_every_stable_link_exactly_once()
    {
        // Enough links that a dump spans several datagrams, so concurrent changes can interrupt it (NLM_F_DUMP_INTR).
        const int StableLinks = 60;
        for (int i = 0; i < StableLinks; i++)
        {
            Handle.CreateVxlan(new VxlanLinkSpec($"stable{i}", new VxlanInfo((uint)(100 + i), UnderlayAddress, UnderlayIndex)));
        }
        using var stop = new CancellationTokenSource();
        using NetlinkHandle churnHandle = NetlinkHandle.OpenInNamespace(Ns.Name);
        Task churn = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                LinkInfo temporary = churnHandle.CreateVxlan(new VxlanLinkSpec("churn0", new VxlanInfo(99, UnderlayAddress, UnderlayIndex)));
                churnHandle.DeleteLink(temporary.Index);
            }
        });

        var badDumps = new List<string>();
        try
        {
            for (int dump = 0; dump < 60; dump++)
            {
                string[] names = Handle.ListLinks().Select(l => l.Name).Where(n => n.StartsWith("stable", StringComparison.Ordinal)).ToArray();
                if (names.Length != StableLinks || names.Distinct().Count() != StableLinks) badDumps.Add($"dump {dump}: {names.Length} stable links");
            }
        }
        finally
        {
            stop.Cancel();
            churn.Wait();
        }

        Assert.That(badDumps, Is.Empty);
        TestContext.Out.WriteLine($"interrupted dumps retried: {Handle.InterruptedDumps}");
    }
}
