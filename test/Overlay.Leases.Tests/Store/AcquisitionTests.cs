using System.Collections.Concurrent;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Leases.Store;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Store;

public sealed class AcquisitionTests : EtcdFixture
{
    [Test]
    public async Task A_new_node_gets_a_free_subnet_created_with_an_etcd_lease_and_its_owner_id()
    {
        NodeIdentity node = Node(1);

        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        Assert.That(own.How, Is.EqualTo(AllocationOutcome.PickFree));
        Assert.That(SubnetAllocator.Fits(Config(), own.Subnet), Is.True);
        StoredKey? stored = StoredLease(Etcd, Prefix, own.Subnet);
        Assert.That(stored, Is.Not.Null);
        Assert.That(stored!.Lease, Is.EqualTo(own.Lease.EtcdLeaseId).And.Not.Zero);
        Assert.That(stored.ModRevision, Is.EqualTo(own.ModRevision));
        LeaseAttributes value = LeaseAttributes.Parse(stored.Value);
        Assert.That(value.OwnerId, Is.EqualTo("node-1"));
        Assert.That(value.PublicIP, Is.EqualTo("192.0.2.1"));
        Assert.That(value.BackendData!.VtepMac, Is.EqualTo(Attributes(node).BackendData!.VtepMac));
        Assert.That(RemainingTtl(Etcd, stored.Lease), Is.InRange(86_000, 86_400));
    }

    [Test]
    public async Task The_lease_ttl_is_configurable()
    {
        var store = new LeaseStore(Session, new LeaseOptions { Ttl = TimeSpan.FromMinutes(10), RenewMargin = TimeSpan.FromMinutes(2) });
        NodeIdentity node = Node(1);

        OwnLease own = await store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        Assert.That(RemainingTtl(Etcd, StoredLease(Etcd, Prefix, own.Subnet)!.Lease), Is.InRange(590, 600));
    }

    [Test]
    public async Task A_restarted_node_reuses_its_lease_by_owner_id()
    {
        NodeIdentity node = Node(1);
        OwnLease first = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        // A restart: a new connection, and no subnet.env to go by.
        var again = new LeaseStore(NewSession());
        OwnLease second = await again.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        Assert.That(second.Subnet, Is.EqualTo(first.Subnet));
        Assert.That(second.How, Is.EqualTo(AllocationOutcome.ReuseLease));
        Assert.That(Stored(Etcd, SubnetsPrefix), Has.Count.EqualTo(1));
        Assert.That(StoredLease(Etcd, Prefix, first.Subnet)!.Lease, Is.EqualTo(second.Lease.EtcdLeaseId));
    }

    [Test]
    public async Task The_owner_id_wins_over_the_public_ip_when_reusing()
    {
        // Two nodes in namespaces of one machine may share nothing but must not share a lease; a node that
        // changed its public IP keeps its lease by owner id.
        NodeIdentity node = Node(1);
        OwnLease first = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);
        NodeIdentity moved = node with { PublicIP = PublicIP(77) };

        OwnLease second = await Store.AcquireAsync(Config(), moved, Attributes(moved), null, CancellationToken.None);

        Assert.That(second.Subnet, Is.EqualTo(first.Subnet));
        Assert.That(LeaseAttributes.Parse(StoredLease(Etcd, Prefix, first.Subnet)!.Value).PublicIP, Is.EqualTo("192.0.2.77"));
    }

    [Test]
    public async Task A_flannel_lease_with_this_nodes_public_ip_is_taken_over_and_gets_the_owner_id()
    {
        SubnetKey subnet = Subnet("198.18.9.0/24");
        string flannelValue = """{"PublicIP":"192.0.2.1","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:44"}}""";
        long leaseId = GrantWithEtcdctl(600);
        Put(Etcd, subnet.ToEtcdKey(Prefix), flannelValue, "--lease", leaseId.ToString("x", System.Globalization.CultureInfo.InvariantCulture));
        NodeIdentity node = Node(1);

        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        Assert.That(own.Subnet, Is.EqualTo(subnet));
        Assert.That(own.How, Is.EqualTo(AllocationOutcome.ReuseLease));
        Assert.That(LeaseAttributes.Parse(StoredLease(Etcd, Prefix, subnet)!.Value).OwnerId, Is.EqualTo("node-1"));
    }

    [Test]
    public async Task A_lease_of_another_owner_with_the_same_public_ip_is_not_reused()
    {
        NodeIdentity other = new("node-in-other-namespace", PublicIP(1));
        OwnLease theirs = await Store.AcquireAsync(Config(), other, Attributes(other), null, CancellationToken.None);
        NodeIdentity node = Node(1);

        OwnLease mine = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        Assert.That(mine.Subnet, Is.Not.EqualTo(theirs.Subnet));
        Assert.That(Stored(Etcd, SubnetsPrefix), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Nodes_sharing_a_machine_id_never_share_a_lease_and_each_keeps_its_own()
    {
        // Nodes simulated in namespaces of one machine: same machine-id and hostname, different public IPs.
        NodeIdentity a = Overlay.Core.Identity.NodeIdentityDerivation.Create(null, "0123456789abcdef0123456789abcdef", PublicIP(1));
        NodeIdentity b = Overlay.Core.Identity.NodeIdentityDerivation.Create(null, "0123456789abcdef0123456789abcdef", PublicIP(2));
        OwnLease leaseA = await Store.AcquireAsync(Config(), a, Attributes(a), null, CancellationToken.None);
        OwnLease leaseB = await Store.AcquireAsync(Config(), b, Attributes(b), null, CancellationToken.None);

        OwnLease againA = await Store.AcquireAsync(Config(), a, Attributes(a), null, CancellationToken.None);
        OwnLease againB = await Store.AcquireAsync(Config(), b, Attributes(b), null, CancellationToken.None);

        Assert.That(a.OwnerId, Is.Not.EqualTo(b.OwnerId));
        Assert.That(leaseA.Subnet, Is.Not.EqualTo(leaseB.Subnet));
        Assert.That((againA.Subnet, againB.Subnet), Is.EqualTo((leaseA.Subnet, leaseB.Subnet)));
        Assert.That(Stored(Etcd, SubnetsPrefix), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_dual_stack_lease_has_both_subnets_in_its_key()
    {
        NetworkConfig config = Config("""{"Network":"198.18.0.0/16","EnableIPv6":true,"IPv6Network":"2001:db8:1::/56","Backend":{"Type":"vxlan"}}""");
        NodeIdentity node = Node(1) with { PublicIPv6 = System.Net.IPAddress.Parse("2001:db8:ffff::1") };

        OwnLease own = await Store.AcquireAsync(config, node, Attributes(node) with { PublicIPv6 = "2001:db8:ffff::1" }, null, CancellationToken.None);

        Assert.That(own.Subnet.IPv6, Is.Not.Null);
        StoredKey stored = Stored(Etcd, SubnetsPrefix).Single();
        Assert.That(stored.Key, Does.Match(@"/subnets/198\.18\.\d+\.0-24&2001:db8:1:[0-9a-f]+::-64$"));
        LeaseSnapshot listed = await Store.ListAsync(withExpiration: false, CancellationToken.None);
        Assert.That(listed.Leases.Single().Subnet, Is.EqualTo(own.Subnet));
        Assert.That(listed.Skipped, Is.Empty);
    }

    [Test]
    public async Task The_previous_subnet_from_subnet_env_is_claimed_again_when_free()
    {
        SubnetKey previous = Subnet("198.18.42.0/24");
        NodeIdentity node = Node(1);

        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), previous, CancellationToken.None);

        Assert.That(own.Subnet, Is.EqualTo(previous));
        Assert.That(own.How, Is.EqualTo(AllocationOutcome.ReusePreviousSubnet));
        Assert.That(StoredLease(Etcd, Prefix, previous), Is.Not.Null);
    }

    [Test]
    public async Task A_previous_subnet_held_by_another_node_is_left_alone()
    {
        SubnetKey previous = Subnet("198.18.42.0/24");
        NodeIdentity other = Node(2);
        await Store.AcquireAsync(Config(), other, Attributes(other), previous, CancellationToken.None);
        NodeIdentity node = Node(1);

        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), previous, CancellationToken.None);

        Assert.That(own.Subnet, Is.Not.EqualTo(previous));
        Assert.That(own.How, Is.EqualTo(AllocationOutcome.PickFree));
        Assert.That(LeaseAttributes.Parse(StoredLease(Etcd, Prefix, previous)!.Value).OwnerId, Is.EqualTo("node-2"));
    }

    [Test]
    public async Task An_own_lease_that_no_longer_fits_the_config_is_deleted_and_replaced()
    {
        NodeIdentity node = Node(1);
        SubnetKey old = Subnet("198.18.200.0/24");
        await Store.AcquireAsync(Config(WideNetwork), node, Attributes(node), old, CancellationToken.None);

        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        Assert.That(own.Subnet, Is.Not.EqualTo(old));
        Assert.That(Stored(Etcd, SubnetsPrefix).Select(k => k.Key), Is.EqualTo(new[] { own.Subnet.ToEtcdKey(Prefix) }));
    }

    [Test]
    public async Task Fifty_concurrent_acquirers_get_fifty_distinct_subnets()
    {
        ConcurrentBag<OwnLease> leases = [];
        await Task.WhenAll(Enumerable.Range(1, 50).Select(n => Task.Run(async () =>
        {
            NodeIdentity node = Node(n);
            leases.Add(await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None));
        })));

        Assert.That(leases.Select(l => l.Subnet).Distinct().Count(), Is.EqualTo(50));
        IReadOnlyList<StoredKey> stored = Stored(Etcd, SubnetsPrefix);
        Assert.That(stored, Has.Count.EqualTo(50));
        Assert.That(stored.Select(k => LeaseAttributes.Parse(k.Value).OwnerId).Distinct().Count(), Is.EqualTo(50));
    }

    [Test]
    public async Task Seventy_acquirers_for_sixty_four_subnets_get_sixty_four_leases_and_six_out_of_subnets_errors()
    {
        ConcurrentBag<OwnLease> leases = [];
        ConcurrentBag<Exception> errors = [];
        await Task.WhenAll(Enumerable.Range(1, 70).Select(n => Task.Run(async () =>
        {
            NodeIdentity node = Node(n);
            try
            {
                leases.Add(await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None));
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        })));

        Assert.That(leases.Select(l => l.Subnet).Distinct().Count(), Is.EqualTo(64));
        Assert.That(errors, Has.Count.EqualTo(6));
        Assert.That(errors, Has.All.TypeOf<OutOfSubnetsException>());
        Assert.That(errors.First().Message, Does.StartWith("out of subnets: every /24 from 198.18.1.0 to 198.18.64.0"));
        IReadOnlyList<StoredKey> stored = Stored(Etcd, SubnetsPrefix);
        Assert.That(stored, Has.Count.EqualTo(64));
        Assert.That(stored.Select(k => LeaseAttributes.Parse(k.Value).OwnerId).Distinct().Count(), Is.EqualTo(64));
    }

    [Test]
    public async Task Concurrent_dual_stack_acquirers_never_share_an_IPv6_subnet_when_one_is_left()
    {
        // 64 IPv4 subnets but one IPv6 subnet: the keys differ, so only the IPv6 check keeps two nodes apart.
        NetworkConfig config = Config("""{"Network":"198.18.0.0/16","SubnetMax":"198.18.64.0","EnableIPv6":true,"IPv6Network":"2001:db8:1::/56","IPv6SubnetMin":"2001:db8:1:5::","IPv6SubnetMax":"2001:db8:1:5::","Backend":{"Type":"vxlan"}}""");
        (ConcurrentBag<OwnLease> leases, ConcurrentBag<Exception> errors) = await AcquireConcurrentlyAsync(config, 8);

        Assert.That(leases, Has.Count.EqualTo(1));
        Assert.That(leases.Single().Subnet.IPv6.ToString(), Is.EqualTo("2001:db8:1:5::/64"));
        Assert.That(errors, Has.Count.EqualTo(7).And.All.TypeOf<OutOfSubnetsException>());
        Assert.That(Stored(Etcd, SubnetsPrefix), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Ten_concurrent_dual_stack_acquirers_for_ten_IPv6_subnets_get_one_each()
    {
        NetworkConfig config = Config("""{"Network":"198.18.0.0/16","SubnetMax":"198.18.64.0","EnableIPv6":true,"IPv6Network":"2001:db8:1::/56","IPv6SubnetMin":"2001:db8:1:1::","IPv6SubnetMax":"2001:db8:1:a::","Backend":{"Type":"vxlan"}}""");
        (ConcurrentBag<OwnLease> leases, ConcurrentBag<Exception> errors) = await AcquireConcurrentlyAsync(config, 10);

        Assert.That(errors, Is.Empty);
        Assert.That(leases.Select(l => l.Subnet.IPv6).Distinct().Count(), Is.EqualTo(10));
        IReadOnlyList<StoredKey> stored = Stored(Etcd, SubnetsPrefix);
        Assert.That(stored.Select(k => k.Key.Split('&')[1]).Distinct().Count(), Is.EqualTo(10), string.Join("\n", stored.Select(k => k.Key)));
    }

    private async Task<(ConcurrentBag<OwnLease> Leases, ConcurrentBag<Exception> Errors)> AcquireConcurrentlyAsync(NetworkConfig config, int nodes)
    {
        ConcurrentBag<OwnLease> leases = [];
        ConcurrentBag<Exception> errors = [];
        await Task.WhenAll(Enumerable.Range(1, nodes).Select(n => Task.Run(async () =>
        {
            NodeIdentity node = Node(n) with { PublicIPv6 = System.Net.IPAddress.Parse($"2001:db8:ffff::{n}") };
            try
            {
                leases.Add(await Store.AcquireAsync(config, node, Attributes(node) with { PublicIPv6 = $"2001:db8:ffff::{n}" }, null, CancellationToken.None));
            }
            catch (OutOfSubnetsException e)
            {
                errors.Add(e);
            }
        })));
        return (leases, errors);
    }

    [Test]
    public async Task Release_deletes_the_key_and_reports_whether_it_existed()
    {
        NodeIdentity node = Node(1);
        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        Assert.That(await Store.ReleaseAsync(own.Subnet, CancellationToken.None), Is.True);
        Assert.That(await Store.ReleaseAsync(own.Subnet, CancellationToken.None), Is.False);
        Assert.That(Stored(Etcd, SubnetsPrefix), Is.Empty);
    }

    [Test]
    public async Task List_reports_leases_with_expirations_only_when_asked()
    {
        NodeIdentity node = Node(1);
        OwnLease own = await Store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        LeaseSnapshot plain = await Store.ListAsync(withExpiration: false, CancellationToken.None);
        LeaseSnapshot timed = await Store.ListAsync(withExpiration: true, CancellationToken.None);

        Assert.That(plain.Leases.Single().Subnet, Is.EqualTo(own.Subnet));
        Assert.That(plain.Leases.Single().Expiration, Is.Null);
        Assert.That(timed.Leases.Single().Expiration, Is.EqualTo(DateTimeOffset.UtcNow.AddHours(24)).Within(TimeSpan.FromMinutes(1)));
        Assert.That(plain.Revision, Is.GreaterThanOrEqualTo(own.ModRevision));
    }

    private long GrantWithEtcdctl(int ttl)
    {
        string output = Etcd.Etcdctl("lease", "grant", ttl.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess().StdOut;
        // "lease 694d7a5c2b2e1a0f granted with TTL(600s)"
        return long.Parse(output.Split(' ')[1], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
    }
}
