using System.Net;
using Overlay.Daemon.Reconciliation;
using Overlay.Netlink;
using Overlay.Reconciliation;
using static Overlay.Daemon.Tests.Reconciliation.DesiredStateTests;

namespace Overlay.Daemon.Tests.Reconciliation;

public class KernelDiffTests
{
    private static readonly KernelDiff.Scope Scope = new(IPNetwork.Parse("198.18.0.0/16"), IPNetwork.Parse("198.18.1.0/24"), DeviceIndex);

    private static DesiredState Desired(params Overlay.Core.Leases.Lease[] leases) => DesiredStateBuilder.Build(Families(Config, DeviceIndex), leases, Own);

    private static ActualState ActualOf(DesiredState state) => new(state.Routes, state.Neighbours, state.Fdb);

    private static readonly ActualState Empty = new([], [], []);

    [Test]
    public void An_empty_kernel_gets_neighbours_and_FDB_entries_before_routes()
    {
        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(Desired(LeaseOf("198.18.2.0-24", "192.0.2.12")), Empty, Scope);

        Assert.That(changes.Select(c => (c.Operation, c.Entry.GetType().Name)), Is.EqualTo(new[]
        {
            (ChangeOperation.Replace, nameof(NeighbourEntry)),
            (ChangeOperation.Replace, nameof(FdbEntry)),
            (ChangeOperation.Replace, nameof(RouteEntry)),
        }));
    }

    [Test]
    public void A_kernel_equal_to_the_desired_state_needs_no_change()
    {
        DesiredState desired = Desired(LeaseOf("198.18.2.0-24", "192.0.2.12"), LeaseOf("198.18.3.0-24", "192.0.2.13", "0e:00:00:00:00:03"));
        Assert.That(KernelDiff.Compute(desired, ActualOf(desired), Scope), Is.Empty);
    }

    [Test]
    public void A_node_that_left_loses_its_route_first_and_its_neighbour_and_FDB_entry_last()
    {
        DesiredState before = Desired(LeaseOf("198.18.2.0-24", "192.0.2.12"), LeaseOf("198.18.3.0-24", "192.0.2.13", "0e:00:00:00:00:03"));
        DesiredState after = Desired(LeaseOf("198.18.2.0-24", "192.0.2.12"));

        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(after, ActualOf(before), Scope);

        Assert.That(changes.Select(c => c.Operation), Has.All.EqualTo(ChangeOperation.Delete));
        Assert.That(changes.Select(c => c.Entry.GetType().Name), Is.EqualTo(new[] { nameof(RouteEntry), nameof(NeighbourEntry), nameof(FdbEntry) }));
        Assert.That(((RouteEntry)changes[0].Entry).Destination, Is.EqualTo(IPNetwork.Parse("198.18.3.0/24")));
    }

    [Test]
    public void A_peer_with_a_new_MAC_gets_its_neighbour_replaced_and_its_old_FDB_entry_removed()
    {
        DesiredState before = Desired(LeaseOf("198.18.2.0-24", "192.0.2.12", "0e:00:00:00:00:02"));
        DesiredState after = Desired(LeaseOf("198.18.2.0-24", "192.0.2.12", "0e:00:00:00:00:22"));

        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(after, ActualOf(before), Scope);

        Assert.That(changes, Has.Count.EqualTo(3));
        Assert.That(changes[0], Is.EqualTo(new NetlinkChange(ChangeOperation.Replace, after.Neighbours[0])));
        Assert.That(changes[1], Is.EqualTo(new NetlinkChange(ChangeOperation.Replace, after.Fdb[0])));
        Assert.That(changes[2], Is.EqualTo(new NetlinkChange(ChangeOperation.Delete, before.Fdb[0])));
    }

    [Test]
    public void Entries_overlayd_does_not_own_are_never_removed()
    {
        var foreign = new ActualState(
            [
                RouteEntry.OnDevice(IPNetwork.Parse("198.18.1.0/24"), 3),                                     // own subnet's bridge route
                RouteEntry.ViaGateway(IPNetwork.Parse("203.0.113.0/24"), IPAddress.Parse("192.0.2.1"), 2),    // outside the pod network
                RouteEntry.ViaGateway(IPNetwork.Parse("198.18.9.0/24"), IPAddress.Parse("192.0.2.1"), 2) with { Protocol = 4 }, // static, by an admin
                RouteEntry.ViaGateway(IPNetwork.Parse("198.18.9.0/24"), IPAddress.Parse("198.18.9.0"), 99, onLink: true),      // another device
            ],
            [
                new NeighbourEntry(DeviceIndex, IPAddress.Parse("198.18.9.0"), MacAddress.Parse("0e:00:00:00:00:09")) { State = NeighbourState.Reachable },
                new NeighbourEntry(99, IPAddress.Parse("198.18.9.0"), MacAddress.Parse("0e:00:00:00:00:09")),
            ],
            [
                new FdbEntry(DeviceIndex, MacAddress.Parse("0e:00:00:00:00:09"), IPAddress.Parse("192.0.2.99")) { State = NeighbourState.Reachable },
                new FdbEntry(99, MacAddress.Parse("0e:00:00:00:00:09"), IPAddress.Parse("192.0.2.99")),
            ]);

        Assert.That(KernelDiff.Compute(Desired(), foreign, Scope), Is.Empty);
    }

    [Test]
    public void A_route_with_the_wrong_gateway_is_replaced_not_deleted()
    {
        DesiredState desired = Desired(LeaseOf("198.18.2.0-24", "192.0.2.12"));
        var actual = new ActualState([RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.99"), DeviceIndex, onLink: true)], desired.Neighbours, desired.Fdb);

        IReadOnlyList<NetlinkChange> changes = KernelDiff.Compute(desired, actual, Scope);

        Assert.That(changes, Is.EqualTo(new[] { new NetlinkChange(ChangeOperation.Replace, desired.Routes[0]) }));
    }

    /// <summary>Applying the diff to a simulated kernel, from any start, always ends at the desired state.</summary>
    [Test]
    public void Applying_the_diff_to_random_kernels_always_reaches_the_desired_state()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 300; trial++)
        {
            Overlay.Core.Leases.Lease[] Pick() => Enumerable.Range(2, 30).Where(_ => random.Next(2) == 0)
                .Select(i => LeaseOf($"198.18.{i}.0-24", $"192.0.2.{i}", $"0e:00:00:00:00:{random.Next(1, 4):x2}")).ToArray();
            DesiredState start = Desired(Pick());
            DesiredState target = Desired(Pick());
            var routes = start.Routes.ToDictionary(r => r.Destination);
            var neighbours = start.Neighbours.ToDictionary(n => n.Address);
            var fdb = start.Fdb.ToHashSet();

            foreach (NetlinkChange change in KernelDiff.Compute(target, new ActualState(routes.Values.ToList(), neighbours.Values.ToList(), fdb.ToList()), Scope))
            {
                switch (change.Entry, change.Operation)
                {
                    case (RouteEntry r, ChangeOperation.Delete): routes.Remove(r.Destination); break;
                    case (RouteEntry r, _): routes[r.Destination] = r; break;
                    case (NeighbourEntry n, ChangeOperation.Delete): neighbours.Remove(n.Address); break;
                    case (NeighbourEntry n, _): neighbours[n.Address] = n; break;
                    case (FdbEntry f, ChangeOperation.Delete): fdb.Remove(f); break;
                    case (FdbEntry f, _): fdb.RemoveWhere(e => e.Mac == f.Mac && Equals(e.Destination, f.Destination)); fdb.Add(f); break;
                }
            }

            Assert.That(routes.Values, Is.EquivalentTo(target.Routes), $"trial {trial}");
            Assert.That(neighbours.Values, Is.EquivalentTo(target.Neighbours), $"trial {trial}");
            Assert.That(fdb, Is.EquivalentTo(target.Fdb), $"trial {trial}");
            Assert.That(KernelDiff.Compute(target, new ActualState(routes.Values.ToList(), neighbours.Values.ToList(), fdb.ToList()), Scope), Is.Empty, $"trial {trial}: a second pass must find nothing");
        }
    }
}
