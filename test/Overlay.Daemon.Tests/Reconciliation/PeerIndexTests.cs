using System.Net;
using Overlay.Core.Leases;
using Overlay.Daemon.Reconciliation;
using Overlay.Netlink;
using Overlay.Reconciliation;
using static Overlay.Daemon.Tests.Reconciliation.DesiredStateTests;

namespace Overlay.Daemon.Tests.Reconciliation;

public class PeerIndexTests
{
    private static PeerIndex IndexOf(IReadOnlyList<Lease> leases) =>
        PeerIndex.TryCreate(Families(Config, DeviceIndex), leases, Own, DesiredStateBuilder.Build(Families(Config, DeviceIndex), leases, Own))
        ?? throw new InvalidOperationException("expected the simple case");

    /// <summary>A kernel simulated as three tables, changed as netlink would change it.</summary>
    private sealed class SimulatedKernel
    {
        public Dictionary<IPNetwork, RouteEntry> Routes { get; } = [];

        public Dictionary<IPAddress, NeighbourEntry> Neighbours { get; } = [];

        public HashSet<FdbEntry> Fdb { get; } = [];

        public SimulatedKernel(DesiredState state, IReadOnlyList<KernelDiff.Scope>? scope = null)
        {
            Apply(KernelDiff.Compute(state, new ActualState([], [], []), scope ?? [new KernelDiff.Scope(Config.Network, Own.IPv4, DeviceIndex)]));
        }

        public void Apply(IEnumerable<NetlinkChange> changes)
        {
            foreach (NetlinkChange change in changes)
            {
                switch (change.Entry, change.Operation)
                {
                    case (RouteEntry r, ChangeOperation.Delete): Routes.Remove(r.Destination); break;
                    case (RouteEntry r, _): Routes[r.Destination] = r; break;
                    case (NeighbourEntry n, ChangeOperation.Delete): Neighbours.Remove(n.Address); break;
                    case (NeighbourEntry n, _): Neighbours[n.Address] = n; break;
                    case (FdbEntry f, ChangeOperation.Delete): Fdb.Remove(f); break;
                    case (FdbEntry f, _): Fdb.RemoveWhere(e => e.Mac == f.Mac && e.InterfaceIndex == f.InterfaceIndex); Fdb.Add(f); break;
                }
            }
        }

        public void AssertEquals(DesiredState state, string because)
        {
            Assert.That(Routes.Values, Is.EquivalentTo(state.Routes), because);
            Assert.That(Neighbours.Values, Is.EquivalentTo(state.Neighbours), because);
            Assert.That(Fdb, Is.EquivalentTo(state.Fdb), because);
        }
    }

    [Test]
    public void A_renewal_changes_nothing_in_the_kernel()
    {
        Lease peer = LeaseOf("198.18.2.0-24", "192.0.2.12");
        PeerIndex index = IndexOf([peer]);

        Assert.That(index.TryPlan([(peer.Subnet, peer with { EtcdLeaseId = 99 })], out List<NetlinkChange> plan), Is.True);
        Assert.That(plan, Is.Empty);
    }

    [Test]
    public void A_new_node_gets_its_three_entries_neighbour_and_FDB_before_the_route()
    {
        PeerIndex index = IndexOf([LeaseOf("198.18.2.0-24", "192.0.2.12")]);
        Lease newcomer = LeaseOf("198.18.3.0-24", "192.0.2.13", "0e:00:00:00:00:03");

        Assert.That(index.TryPlan([(newcomer.Subnet, newcomer)], out List<NetlinkChange> plan), Is.True);

        Assert.That(plan.Select(c => (c.Operation, c.Entry.GetType().Name)), Is.EqualTo(new[]
        {
            (ChangeOperation.Replace, nameof(FdbEntry)),
            (ChangeOperation.Replace, nameof(NeighbourEntry)),
            (ChangeOperation.Replace, nameof(RouteEntry)),
        }));
    }

    [Test]
    public void What_it_cannot_decide_alone_is_left_to_a_full_reconcile()
    {
        Lease peer = LeaseOf("198.18.2.0-24", "192.0.2.12");
        Assert.That(IndexOf([peer]).TryPlan([(SubnetKey.Parse("198.18.3.0-24"), LeaseOf("198.18.3.0-24", "192.0.2.13"))], out _), Is.False, "a MAC already used by another node");
        Assert.That(IndexOf([peer]).TryPlan([(SubnetKey.Parse("198.18.2.0-25"), LeaseOf("198.18.2.0-25", "192.0.2.13", "0e:00:00:00:00:03"))], out _), Is.False, "another subnet length");
        Assert.That(IndexOf([peer]).TryPlan([(Own, LeaseOf("198.18.1.0-24", "192.0.2.11", "0e:00:00:00:00:09"))], out _), Is.False, "this node's own lease");
        Assert.That(IndexOf([peer]).TryPlan([(SubnetKey.Parse("198.18.9.0-24"), null)], out _), Is.False, "the removal of a lease it never had");
        Assert.That(PeerIndex.TryCreate(Families(Config, DeviceIndex), [peer, LeaseOf("198.18.3.0-24", "192.0.2.13", backend: "udp")], Own,
            DesiredStateBuilder.Build(Families(Config, DeviceIndex), [peer, LeaseOf("198.18.3.0-24", "192.0.2.13", backend: "udp")], Own)), Is.Null, "a skipped lease");
    }

    /// <summary>Random series of lease changes applied one by one end where a full rebuild and diff would.</summary>
    [Test]
    public void Applying_planned_changes_keeps_the_kernel_equal_to_a_full_rebuild()
    {
        var random = new Random(11);
        int planned = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            // Nodes 2..40, each with a MAC and IP of its own; a node may hold a second lease (same MAC and IP).
            var leases = new Dictionary<SubnetKey, Lease>();
            Lease Make(int subnet, int node) => LeaseOf($"198.18.{subnet}.0-24", $"192.0.2.{node}", $"0e:00:00:00:{node / 256:x2}:{node % 256:x2}");
            foreach (int i in Enumerable.Range(2, 40).Where(_ => random.Next(2) == 0))
            {
                leases[SubnetKey.Parse($"198.18.{i}.0-24")] = Make(i, i);
            }

            PeerIndex index = IndexOf(leases.Values.ToList());
            var kernel = new SimulatedKernel(DesiredStateBuilder.Build(Families(Config, DeviceIndex), leases.Values, Own));
            for (int step = 0; step < 10; step++)
            {
                var batch = new List<(SubnetKey, Lease?)>();
                for (int c = random.Next(1, 4); c > 0; c--)
                {
                    int subnet = random.Next(2, 60);
                    var key = SubnetKey.Parse($"198.18.{subnet}.0-24");
                    int kind = random.Next(4);
                    if (leases.ContainsKey(key) && kind == 0)
                    {
                        leases.Remove(key);
                        batch.Add((key, null));
                    }
                    else if (leases.TryGetValue(key, out Lease? existing) && kind == 1)
                    {
                        Lease renewed = existing with { EtcdLeaseId = existing.EtcdLeaseId + 1 };
                        leases[key] = renewed;
                        batch.Add((key, renewed));
                    }
                    else
                    {
                        // A new node (its own MAC and IP) or, sometimes, an existing node's second lease.
                        int node = leases.Count > 0 && kind == 2 ? int.Parse(leases.Values.First().Attributes.PublicIP.Split('.')[3], System.Globalization.CultureInfo.InvariantCulture) : 100 + subnet;
                        if (leases.Values.Any(l => l.Attributes.PublicIP == $"192.0.2.{node}" && l.Subnet == key))
                        {
                            continue;
                        }

                        Lease lease = Make(subnet, node);
                        leases[key] = lease;
                        batch.Add((key, lease));
                    }
                }

                DesiredState full = DesiredStateBuilder.Build(Families(Config, DeviceIndex), leases.Values, Own);
                if (!index.TryPlan(batch, out List<NetlinkChange> plan))
                {
                    // Not the simple case: the daemon would reconcile fully; so does the simulation.
                    var actual = new ActualState(kernel.Routes.Values.ToList(), kernel.Neighbours.Values.ToList(), kernel.Fdb.ToList());
                    kernel.Apply(KernelDiff.Compute(full, actual, new KernelDiff.Scope(Config.Network, Own.IPv4, DeviceIndex)));
                    index = PeerIndex.TryCreate(Families(Config, DeviceIndex), leases.Values, Own, full) ?? IndexOf([]);
                    if (full.Skipped.Count > 0)
                    {
                        break;
                    }

                    continue;
                }

                planned++;
                kernel.Apply(plan);
                kernel.AssertEquals(full, $"trial {trial}, step {step}: {string.Join(", ", batch.Select(b => $"{b.Item1}={(b.Item2 is null ? "removed" : b.Item2.Attributes.PublicIP)}"))}");
            }
        }

        Assert.That(planned, Is.GreaterThan(500), "most changes should take the short path");
    }

    private static PeerIndex DualIndexOf(IReadOnlyList<Lease> leases) =>
        PeerIndex.TryCreate(DualFamilies, leases, DualStackDesiredStateTests.Own, BuildDual(leases))
        ?? throw new InvalidOperationException("expected the simple case");

    private static DesiredState BuildDual(IEnumerable<Lease> leases) =>
        DesiredStateBuilder.Build(DualFamilies, leases, DualStackDesiredStateTests.Own);

    private static IReadOnlyList<VxlanFamily> DualFamilies =>
        Families(DualStackDesiredStateTests.Config, DeviceIndex, DualStackDesiredStateTests.DeviceIndexV6);

    [Test]
    public void A_new_dual_stack_node_gets_its_entries_on_both_devices_routes_last()
    {
        PeerIndex index = DualIndexOf([DualStackDesiredStateTests.DualLease(2)]);
        Lease newcomer = DualStackDesiredStateTests.DualLease(3);

        Assert.That(index.TryPlan([(newcomer.Subnet, newcomer)], out List<NetlinkChange> plan), Is.True);

        Assert.That(plan, Has.Count.EqualTo(6));
        Assert.That(plan.Skip(4).Select(c => c.Entry), Is.All.InstanceOf<RouteEntry>());
        Assert.That(plan.Select(c => c.Entry).OfType<RouteEntry>().Select(r => r.InterfaceIndex),
            Is.EquivalentTo(new[] { DeviceIndex, DualStackDesiredStateTests.DeviceIndexV6 }));
    }

    [Test]
    public void A_lease_whose_IPv6_half_cannot_be_programmed_is_left_to_a_full_reconcile()
    {
        PeerIndex index = DualIndexOf([DualStackDesiredStateTests.DualLease(2)]);
        Lease noV6Data = DualStackDesiredStateTests.DualLease(3, withV6Data: false);

        Assert.That(index.TryPlan([(noV6Data.Subnet, noV6Data)], out _), Is.False);
    }

    /// <summary>The random series again, in a dual-stack network: both devices end where a full rebuild would.</summary>
    [Test]
    public void In_dual_stack_applying_planned_changes_keeps_both_devices_equal_to_a_full_rebuild()
    {
        var random = new Random(17);
        int planned = 0;
        var scope = DualStackDesiredStateTests.Scope;
        for (int trial = 0; trial < 100; trial++)
        {
            var leases = new Dictionary<SubnetKey, Lease>();
            foreach (int i in Enumerable.Range(2, 30).Where(_ => random.Next(2) == 0))
            {
                Lease lease = DualStackDesiredStateTests.DualLease(i);
                leases[lease.Subnet] = lease;
            }

            PeerIndex index = DualIndexOf(leases.Values.ToList());
            var kernel = new SimulatedKernel(BuildDual(leases.Values), scope);
            for (int step = 0; step < 10; step++)
            {
                var batch = new List<(SubnetKey, Lease?)>();
                for (int c = random.Next(1, 4); c > 0; c--)
                {
                    int n = random.Next(2, 50);
                    Lease fresh = random.Next(3) == 0
                        ? DualStackDesiredStateTests.DualLease(n) with { Subnet = SubnetKey.Parse($"198.18.{n}.0-24") } // an IPv4-only lease
                        : DualStackDesiredStateTests.DualLease(n);
                    SubnetKey? existing = leases.Keys.Cast<SubnetKey?>().FirstOrDefault(k => k!.Value.IPv4 == fresh.Subnet.IPv4);
                    if (existing is { } key && random.Next(2) == 0)
                    {
                        leases.Remove(key);
                        batch.Add((key, null));
                    }
                    else if (existing is null)
                    {
                        leases[fresh.Subnet] = fresh;
                        batch.Add((fresh.Subnet, fresh));
                    }
                    else if (existing == fresh.Subnet)
                    {
                        Lease renewed = leases[fresh.Subnet] with { EtcdLeaseId = 9 };
                        leases[fresh.Subnet] = renewed;
                        batch.Add((fresh.Subnet, renewed));
                    }
                }

                DesiredState full = BuildDual(leases.Values);
                if (!index.TryPlan(batch, out List<NetlinkChange> plan))
                {
                    var actual = new ActualState(kernel.Routes.Values.ToList(), kernel.Neighbours.Values.ToList(), kernel.Fdb.ToList());
                    kernel.Apply(KernelDiff.Compute(full, actual, scope));
                    index = PeerIndex.TryCreate(DualFamilies, leases.Values, DualStackDesiredStateTests.Own, full) ?? DualIndexOf([]);
                    continue;
                }

                planned++;
                kernel.Apply(plan);
                kernel.AssertEquals(full, $"trial {trial}, step {step}: {string.Join(", ", batch.Select(b => $"{b.Item1}={(b.Item2 is null ? "removed" : "set")}"))}");
            }
        }

        Assert.That(planned, Is.GreaterThan(500), "most changes should take the short path");
    }
}
