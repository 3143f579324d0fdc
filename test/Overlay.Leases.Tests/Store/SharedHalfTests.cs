using System.Collections.Concurrent;
using System.Net;
using Overlay.Core.Allocation;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Leases.Etcd;
using Overlay.Leases.Store;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Store;

/// <summary>
/// A dual-stack key holds two subnets, and two different keys can share either half. No two leases may: the create
/// guard covers every key with the same IPv4 subnet, and a key created with an IPv6 subnet already held gives way.
/// The races are made deterministic by writing the rival key between the acquirer's list and its create.
/// </summary>
public sealed class SharedHalfTests : EtcdFixture
{
    /// <summary>Two IPv4 subnets (198.18.1.0, 198.18.2.0) and two IPv6 subnets (2001:db8:1:1::, 2001:db8:1:2::).</summary>
    private const string TwoByTwo = """{"Network":"198.18.0.0/16","SubnetMax":"198.18.2.0","EnableIPv6":true,"IPv6Network":"2001:db8:1::/56","IPv6SubnetMin":"2001:db8:1:1::","IPv6SubnetMax":"2001:db8:1:2::","Backend":{"Type":"vxlan"}}""";

    private const string RivalValue = """{"PublicIP":"192.0.2.200","PublicIPv6":"2001:db8:ffff::200","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:44"},"OwnerId":"rival"}""";

    [Test]
    public async Task A_subnet_taken_under_another_IPv6_half_between_list_and_create_is_not_taken_again()
    {
        // The rival holds the same IPv4 subnet with the other IPv6 subnet: a different key, so version == 0 alone passes.
        SubnetKey? rival = null;
        LeaseStore store = RacingStore(picked => rival ??= new SubnetKey(picked.IPv4, OtherIPv6(picked)));

        OwnLease own = await AcquireDualStackAsync(store, 1);

        Assert.That(rival, Is.Not.Null, "the rival key was written in the race window");
        Assert.That(own.Subnet.IPv4, Is.Not.EqualTo(rival!.Value.IPv4));
        Assert.That(own.Subnet.IPv6, Is.Not.EqualTo(rival.Value.IPv6));
        AssertNoHalfShared();
        Assert.That(StoredLease(Etcd, Prefix, rival.Value)!.Value, Is.EqualTo(RivalValue), "the rival's key is left as it was");
    }

    [Test]
    public async Task A_subnet_taken_under_another_IPv4_half_between_list_and_create_is_given_up()
    {
        // The IPv6 half ends the key, where no etcd range reaches: the key is created, then gives way to the earlier one.
        SubnetKey? rival = null;
        LeaseStore store = RacingStore(picked => rival ??= new SubnetKey(OtherIPv4(picked), picked.IPv6));

        OwnLease own = await AcquireDualStackAsync(store, 1);

        Assert.That(rival, Is.Not.Null);
        Assert.That(own.Subnet.IPv6, Is.Not.EqualTo(rival!.Value.IPv6));
        AssertNoHalfShared();
        Assert.That(Stored(Etcd, SubnetsPrefix), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_flannel_IPv4_only_key_written_in_the_race_window_holds_its_subnet_against_a_dual_stack_create()
    {
        SubnetKey? rival = null;
        LeaseStore store = RacingStore(picked => rival ??= new SubnetKey(picked.IPv4));

        OwnLease own = await AcquireDualStackAsync(store, 1);

        Assert.That(rival, Is.Not.Null);
        Assert.That(own.Subnet.IPv4, Is.Not.EqualTo(rival!.Value.IPv4));
        AssertNoHalfShared();
    }

    [Test]
    public async Task A_dual_stack_key_written_in_the_race_window_holds_its_subnet_against_an_IPv4_only_create()
    {
        SubnetKey? rival = null;
        LeaseStore store = RacingStore(picked => rival ??= new SubnetKey(picked.IPv4, IPNetwork.Parse("2001:db8:1:9::/64")));
        NodeIdentity node = Node(1);

        OwnLease own = await store.AcquireAsync(Config(), node, Attributes(node), null, CancellationToken.None);

        Assert.That(rival, Is.Not.Null);
        Assert.That(own.Subnet.IPv4, Is.Not.EqualTo(rival!.Value.IPv4));
        AssertNoHalfShared();
    }

    [Test]
    public async Task The_previous_subnet_is_not_claimed_again_when_its_IPv4_half_was_taken_under_another_key()
    {
        SubnetKey previous = SubnetKey.Parse("198.18.1.0-24&2001:db8:1:1::-64");
        SubnetKey? rival = null;
        LeaseStore store = RacingStore(picked => rival ??= new SubnetKey(picked.IPv4, OtherIPv6(picked)));
        NodeIdentity node = DualStackNode(1);

        OwnLease own = await store.AcquireAsync(Config(TwoByTwo), node, DualStackAttributes(node), previous, CancellationToken.None);

        Assert.That(rival!.Value.IPv4, Is.EqualTo(previous.IPv4), "the race hit the previous subnet");
        Assert.That(own.Subnet, Is.EqualTo(SubnetKey.Parse("198.18.2.0-24&2001:db8:1:1::-64")));
        AssertNoHalfShared();
    }

    [Test]
    public async Task A_key_with_an_unreadable_value_still_holds_its_subnets()
    {
        Put(Etcd, SubnetKey.Parse("198.18.1.0-24&2001:db8:1:1::-64").ToEtcdKey(Prefix), "not a lease");
        NodeIdentity node = DualStackNode(1);

        OwnLease own = await Store.AcquireAsync(Config(TwoByTwo), node, DualStackAttributes(node), null, CancellationToken.None);

        Assert.That(own.Subnet, Is.EqualTo(SubnetKey.Parse("198.18.2.0-24&2001:db8:1:2::-64")));
    }

    [Test]
    public async Task A_reservation_is_refused_when_another_key_holds_its_IPv4_subnet()
    {
        Put(Etcd, SubnetKey.Parse("198.18.1.0-24&2001:db8:1:1::-64").ToEtcdKey(Prefix), RivalValue);
        NodeIdentity node = DualStackNode(1);

        SubnetHeldException? refused = Assert.ThrowsAsync<SubnetHeldException>(() =>
            Store.ReserveAsync(SubnetKey.Parse("198.18.1.0-24&2001:db8:1:2::-64"), DualStackAttributes(node), CancellationToken.None));

        Assert.That(refused!.Message, Does.Contain("its IPv4 subnet is held by").And.Contain("198.18.1.0-24&2001:db8:1:1::-64").And.Contain("192.0.2.200"));
        Assert.That(Stored(Etcd, SubnetsPrefix), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Concurrent_dual_stack_acquirers_on_a_small_network_never_share_either_half()
    {
        // 12 IPv4 and 12 IPv6 subnets for 12 nodes, five times over: each random pick collides often.
        const string twelve = """{"Network":"198.18.0.0/16","SubnetMax":"198.18.12.0","EnableIPv6":true,"IPv6Network":"2001:db8:1::/56","IPv6SubnetMin":"2001:db8:1:1::","IPv6SubnetMax":"2001:db8:1:c::","Backend":{"Type":"vxlan"}}""";
        for (int round = 0; round < 5; round++)
        {
            string prefix = UniquePrefix();
            ConcurrentBag<OwnLease> leases = [];
            await Task.WhenAll(Enumerable.Range(1, 12).Select(n => Task.Run(async () =>
            {
                var store = new LeaseStore(NewSession(Options(Etcd, prefix)));
                NodeIdentity node = DualStackNode(n);
                leases.Add(await store.AcquireAsync(Config(twelve), node, DualStackAttributes(node), null, CancellationToken.None));
            })));

            IReadOnlyList<string> keys = Stored(Etcd, SubnetKey.SubnetsPrefix(prefix)).Select(k => k.Key).ToList();
            Assert.That(leases, Has.Count.EqualTo(12));
            Assert.That(keys, Has.Count.EqualTo(12), string.Join("\n", keys));
            Assert.That(keys.Select(k => k.Split('&')[0]).Distinct().Count(), Is.EqualTo(12), string.Join("\n", keys));
            Assert.That(keys.Select(k => k.Split('&')[1]).Distinct().Count(), Is.EqualTo(12), string.Join("\n", keys));
        }
    }

    /// <summary>A store whose first create is preceded by the rival's key, written with etcdctl as another node would.</summary>
    private LeaseStore RacingStore(Func<SubnetKey, SubnetKey> rivalFor) => new(NewSession())
    {
        BeforeCreate = picked =>
        {
            SubnetKey rival = rivalFor(picked);
            if (StoredLease(Etcd, Prefix, rival) is null)
            {
                Put(Etcd, rival.ToEtcdKey(Prefix), RivalValue);
            }

            return Task.CompletedTask;
        },
    };

    private static Task<OwnLease> AcquireDualStackAsync(LeaseStore store, int n)
    {
        NodeIdentity node = DualStackNode(n);
        return store.AcquireAsync(Config(TwoByTwo), node, DualStackAttributes(node), null, CancellationToken.None);
    }

    private static NodeIdentity DualStackNode(int n) => Node(n) with { PublicIPv6 = System.Net.IPAddress.Parse($"2001:db8:ffff::{n}") };

    private static LeaseAttributes DualStackAttributes(NodeIdentity node) => Attributes(node) with { PublicIPv6 = node.PublicIPv6!.ToString() };

    private static IPNetwork OtherIPv6(SubnetKey picked) =>
        IPNetwork.Parse(picked.IPv6 == IPNetwork.Parse("2001:db8:1:1::/64") ? "2001:db8:1:2::/64" : "2001:db8:1:1::/64");

    private static IPNetwork OtherIPv4(SubnetKey picked) =>
        IPNetwork.Parse(picked.IPv4 == IPNetwork.Parse("198.18.1.0/24") ? "198.18.2.0/24" : "198.18.1.0/24");

    /// <summary>Every stored key has an IPv4 and an IPv6 subnet of its own.</summary>
    private void AssertNoHalfShared()
    {
        List<SubnetKey> keys = Stored(Etcd, SubnetsPrefix).Select(k => SubnetKey.Parse(k.Key[SubnetsPrefix.Length..])).ToList();
        string all = string.Join("\n", keys);
        Assert.That(keys.Select(k => k.IPv4).Distinct().Count(), Is.EqualTo(keys.Count), all);
        Assert.That(keys.Where(k => k.IPv6 is not null).Select(k => k.IPv6).Distinct().Count(), Is.EqualTo(keys.Count(k => k.IPv6 is not null)), all);
    }
}
