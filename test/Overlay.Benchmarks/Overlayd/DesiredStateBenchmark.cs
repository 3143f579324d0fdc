using System.Diagnostics;
using System.Globalization;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Daemon.Reconciliation;
using Overlay.Reconciliation;
using static Overlay.Benchmarks.Overlayd.Harness;

namespace Overlay.Benchmarks.Overlayd;

/// <summary>
/// In-process, no kernel, no etcd: <see cref="DesiredStateBuilder.Build"/> (the pure part of every overlayd reconcile)
/// over N fake leases, to separate its cost from the netlink dump/diff/apply measured by the netlink benchmark.
/// </summary>
internal static class DesiredStateBenchmark
{
    public static int Run(string[] args)
    {
        int rounds = Option(args, "--rounds", 5);
        NetworkConfig config = NetworkConfigParser.Parse(NetworkConfigJson);
        var own = SubnetKey.Parse("100.127.255.0-24");
        var table = new Table(string.Create(CultureInfo.InvariantCulture, $"desiredstate: DesiredStateBuilder.Build, {rounds} rounds, {Machine()}"));
        VxlanFamily[] families = [VxlanFamily.IPv4(config) with { DeviceIndex = 3 }];
        foreach (int count in new[] { 500, 1000, 2000, 5000 })
        {
            Lease[] leases = Enumerable.Range(0, count)
                .Select(i => FakeLease(i))
                .Select(l => new Lease(SubnetKey.Parse($"{l.Subnet.BaseAddress}-24"), LeaseAttributes.Parse(l.Value), 1))
                .ToArray();
            DesiredStateBuilder.Build(families, leases, own); // warm-up (JIT)
            for (int round = 0; round < rounds; round++)
            {
                long started = Stopwatch.GetTimestamp();
                DesiredState state = DesiredStateBuilder.Build(families, leases, own);
                table.Add($"Build over {count} leases (ms)", Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                if (state.PeerCount != count)
                {
                    throw new InvalidOperationException($"{state.PeerCount} peers from {count} leases");
                }
            }
        }

        table.Print();
        return 0;
    }
}
