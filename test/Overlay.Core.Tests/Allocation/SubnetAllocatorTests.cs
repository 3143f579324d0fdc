using System.Net;
using Overlay.Core.Addressing;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;

namespace Overlay.Core.Tests.Allocation;

public class SubnetAllocatorTests
{
    private static readonly NetworkConfig Config = NetworkConfigParser.Parse(
        "{\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}");

    private static readonly NodeIdentity Self = new("node-a", IPAddress.Parse("192.0.2.11"));

    private static Lease LeaseOf(string subnet, string publicIP, string? owner = null, long etcdLease = 7) =>
        new(SubnetKey.Parse(subnet), new LeaseAttributes { PublicIP = publicIP, BackendType = "vxlan", OwnerId = owner }, etcdLease);

    private static AllocationDecision Decide(IReadOnlyCollection<Lease> leases, SubnetKey? previous = null, NetworkConfig? config = null, int seed = 1) =>
        SubnetAllocator.Decide(config ?? Config, leases, Self, previous, new Random(seed));

    [Test]
    public void A_subnet_under_a_key_with_an_unreadable_value_is_never_picked()
    {
        NetworkConfig three = NetworkConfigParser.Parse("{\"Network\":\"198.18.0.0/16\",\"SubnetMax\":\"198.18.3.0\",\"Backend\":{\"Type\":\"vxlan\"}}");
        SubnetKey[] unreadable = [SubnetKey.Parse("198.18.1.0-24"), SubnetKey.Parse("198.18.3.0-24&2001:db8:1:3::-64")];

        IEnumerable<SubnetKey?> picks = Enumerable.Range(0, 50).Select(seed =>
            SubnetAllocator.Decide(three, [], Self, null, new Random(seed), unreadable).Subnet);

        Assert.That(picks, Is.All.EqualTo(SubnetKey.Parse("198.18.2.0-24")));
    }

    [Test]
    public void The_previous_subnet_is_not_reused_when_a_key_with_an_unreadable_value_holds_it()
    {
        SubnetKey previous = SubnetKey.Parse("198.18.5.0-24");

        AllocationDecision decision = SubnetAllocator.Decide(Config, [], Self, previous, new Random(1), [previous]);

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.PickFree));
        Assert.That(decision.Subnet, Is.Not.EqualTo(previous));
    }

    [Test]
    public void A_lease_with_this_nodes_owner_id_is_reused()
    {
        Lease own = LeaseOf("198.18.7.0-24", "192.0.2.99", owner: "node-a");
        AllocationDecision decision = Decide([LeaseOf("198.18.1.0-24", "192.0.2.12", owner: "node-b"), own]);

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.ReuseLease));
        Assert.That(decision.ExistingLease, Is.SameAs(own));
        Assert.That(decision.Reason, Does.Contain("owner id node-a"));
    }

    [Test]
    public void A_flannel_lease_with_this_nodes_public_IP_is_reused()
    {
        Lease flannels = LeaseOf("198.18.9.0-24", "192.0.2.11");
        AllocationDecision decision = Decide([flannels]);

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.ReuseLease));
        Assert.That(decision.Subnet, Is.EqualTo(flannels.Subnet));
        Assert.That(decision.Reason, Does.Contain("public IP 192.0.2.11"));
    }

    [Test]
    public void The_owner_id_wins_over_the_public_IP()
    {
        Lease byAddress = LeaseOf("198.18.2.0-24", "192.0.2.11");
        Lease byOwner = LeaseOf("198.18.5.0-24", "192.0.2.200", owner: "node-a");

        Assert.That(Decide([byAddress, byOwner]).ExistingLease, Is.SameAs(byOwner));
    }

    [Test]
    public void A_lease_of_another_owner_is_not_taken_even_with_the_same_public_IP()
    {
        AllocationDecision decision = Decide([LeaseOf("198.18.2.0-24", "192.0.2.11", owner: "node-z")]);

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.PickFree));
        Assert.That(decision.Subnet!.Value.IPv4, Is.Not.EqualTo(IPNetwork.Parse("198.18.2.0/24")));
    }

    [Test]
    public void A_reservation_matching_the_public_IP_is_reused()
    {
        Lease reservation = LeaseOf("198.18.40.0-24", "192.0.2.11", etcdLease: Lease.NoEtcdLease);
        AllocationDecision decision = Decide([reservation]);

        Assert.That(decision.ExistingLease, Is.SameAs(reservation));
        Assert.That(decision.Reason, Does.Contain("reservation"));
    }

    [Test]
    public void An_own_lease_that_no_longer_fits_the_config_is_marked_stale_but_a_reservation_is_not()
    {
        Lease outside = LeaseOf("198.19.0.0-24", "192.0.2.11", owner: "node-a");
        Lease wrongLength = LeaseOf("198.18.4.0-25", "192.0.2.11");
        Lease reservedOutside = LeaseOf("198.19.1.0-24", "192.0.2.11", etcdLease: Lease.NoEtcdLease);

        AllocationDecision decision = Decide([outside, wrongLength, reservedOutside]);

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.PickFree));
        Assert.That(decision.StaleOwnLeases, Is.EquivalentTo(new[] { outside, wrongLength }));
    }

    [Test]
    public void The_previous_subnet_is_reused_when_free()
    {
        SubnetKey previous = SubnetKey.Parse("198.18.77.0-24");
        AllocationDecision decision = Decide([LeaseOf("198.18.1.0-24", "192.0.2.12")], previous);

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.ReusePreviousSubnet));
        Assert.That(decision.Subnet, Is.EqualTo(previous));
    }

    [Test]
    public void The_previous_subnet_is_not_reused_when_another_node_holds_it()
    {
        SubnetKey previous = SubnetKey.Parse("198.18.77.0-24");
        AllocationDecision decision = Decide([LeaseOf("198.18.77.0-24", "192.0.2.12", owner: "node-b")], previous);

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.PickFree));
        Assert.That(decision.Subnet, Is.Not.EqualTo(previous));
    }

    [Test]
    public void The_previous_subnet_is_not_reused_when_it_is_outside_the_config()
    {
        AllocationDecision decision = Decide([], SubnetKey.Parse("198.18.0.0-24"));

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.PickFree), "198.18.0.0/24 is below SubnetMin");
    }

    [Test]
    public void A_free_pick_comes_from_the_first_hundred_free_subnets()
    {
        var picked = new HashSet<IPNetwork>();
        for (int seed = 0; seed < 300; seed++)
        {
            picked.Add(Decide([], seed: seed).Subnet!.Value.IPv4);
        }

        Assert.That(picked.Count, Is.GreaterThan(50), "the pick is random");
        Assert.That(picked.Max(n => n.BaseAddress.GetAddressBytes()[2]), Is.LessThanOrEqualTo(100), "198.18.1.0 .. 198.18.100.0");
        Assert.That(picked.Min(n => n.BaseAddress.GetAddressBytes()[2]), Is.GreaterThanOrEqualTo(1));
    }

    [Test]
    public void A_full_network_is_out_of_subnets_with_a_clear_reason()
    {
        NetworkConfig small = NetworkConfigParser.Parse("{\"Network\":\"198.18.0.0/24\",\"SubnetLen\":26,\"Backend\":{\"Type\":\"vxlan\"}}");
        Lease[] leases = [LeaseOf("198.18.0.64-26", "192.0.2.20"), LeaseOf("198.18.0.128-26", "192.0.2.21"), LeaseOf("198.18.0.192-26", "192.0.2.22")];

        AllocationDecision decision = Decide(leases, config: small);

        Assert.That(decision.Outcome, Is.EqualTo(AllocationOutcome.OutOfSubnets));
        Assert.That(decision.Succeeded, Is.False);
        Assert.That(decision.Reason, Does.Contain("out of subnets").And.Contain("198.18.0.64").And.Contain("198.18.0.192"));
    }

    [Test]
    public void A_dual_stack_pick_takes_a_free_subnet_of_each_family()
    {
        NetworkConfig dual = NetworkConfigParser.Parse(
            "{\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8::/56\",\"Backend\":{\"Type\":\"vxlan\"}}");

        AllocationDecision decision = Decide([LeaseOf("198.18.1.0-24&2001:db8:0:1::-64", "192.0.2.12")], config: dual);

        Assert.That(decision.Subnet!.Value.IPv6, Is.Not.Null);
        Assert.That(decision.Subnet.Value.IPv6, Is.Not.EqualTo(IPNetwork.Parse("2001:db8:0:1::/64")));
        Assert.That(SubnetAllocator.Fits(dual, decision.Subnet.Value), Is.True);
    }

    [Test]
    public void An_IPv4_only_lease_does_not_fit_a_dual_stack_config()
    {
        NetworkConfig dual = NetworkConfigParser.Parse(
            "{\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8::/56\",\"Backend\":{\"Type\":\"vxlan\"}}");

        Assert.That(SubnetAllocator.Fits(dual, SubnetKey.Parse("198.18.3.0-24")), Is.False);
        Assert.That(SubnetAllocator.Fits(dual, SubnetKey.Parse("198.18.3.0-24&2001:db8:0:3::-64")), Is.True);
    }

    /// <summary>
    /// Over many random configs and lease sets: a pick never overlaps a lease nor leaves SubnetMin..SubnetMax,
    /// and "out of subnets" comes exactly when a brute-force search finds no free subnet.
    /// </summary>
    [Test]
    public void Random_configs_and_lease_sets_never_give_an_overlapping_or_out_of_range_subnet()
    {
        var random = new Random(20261125);
        int outOfSubnets = 0;
        for (int trial = 0; trial < 2000; trial++)
        {
            int prefix = random.Next(16, 27);
            int subnetLen = Math.Min(30, prefix + 2 + random.Next(0, 5));
            int count = 1 << (subnetLen - prefix);
            int minIndex = random.Next(0, count);
            int maxIndex = random.Next(minIndex, count);
            var network = new IPNetwork(IPAddress.Parse("198.18.0.0"), prefix);
            IPAddress Subnet(int index) => IPAddressMath.Offset(network, (UInt128)index << (32 - subnetLen));
            NetworkConfig config = NetworkConfigParser.Parse(
                $"{{\"Network\":\"{network}\",\"SubnetLen\":{subnetLen},\"SubnetMin\":\"{Subnet(minIndex)}\",\"SubnetMax\":\"{Subnet(maxIndex)}\",\"Backend\":{{\"Type\":\"vxlan\"}}}}");

            // Leases of the configured length and some of other lengths, inside the range and around it.
            var leases = new List<Lease>();
            int leaseCount = random.Next(0, Math.Min(count, 200) + 1);
            for (int i = 0; i < leaseCount; i++)
            {
                int length = random.Next(4) == 0 ? Math.Clamp(subnetLen + random.Next(-2, 3), prefix, 30) : subnetLen;
                int index = random.Next(0, 1 << (length - prefix));
                IPAddress start = IPAddressMath.Offset(network, (UInt128)index << (32 - length));
                leases.Add(new Lease(new SubnetKey(new IPNetwork(start, length)), new LeaseAttributes { PublicIP = $"203.0.113.{i % 250}", OwnerId = $"n{i}" }, 5));
            }

            AllocationDecision decision = SubnetAllocator.Decide(config, leases, Self, null, random);

            bool anyFree = Enumerable.Range(minIndex, maxIndex - minIndex + 1)
                .Any(index => !leases.Any(l => IPAddressMath.Overlaps(l.Subnet.IPv4, new IPNetwork(Subnet(index), subnetLen))));
            Assert.That(decision.Succeeded, Is.EqualTo(anyFree), $"trial {trial}: {config.Network} /{subnetLen}: {decision.Reason}");
            if (!decision.Succeeded)
            {
                outOfSubnets++;
                continue;
            }

            IPNetwork picked = decision.Subnet!.Value.IPv4;
            Assert.That(SubnetAllocator.Fits(config, decision.Subnet.Value), Is.True, $"trial {trial}: {picked} outside {config.SubnetMin}..{config.SubnetMax}");
            Assert.That(leases.Where(l => IPAddressMath.Overlaps(l.Subnet.IPv4, picked)), Is.Empty, $"trial {trial}: {picked} overlaps a lease");
        }

        Assert.That(outOfSubnets, Is.GreaterThan(0), "the generator should also produce full networks");
    }
}
