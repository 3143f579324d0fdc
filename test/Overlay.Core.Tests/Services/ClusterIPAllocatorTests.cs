using System.Net;
using Overlay.Core.Addressing;
using Overlay.Core.Services;

namespace Overlay.Core.Tests.Services;

public class ClusterIPAllocatorTests
{
    private static ClusterIPAllocator Allocator(string cidr) => new(IPNetwork.Parse(cidr));

    private static List<IPAddress> Drain(ClusterIPAllocator allocator, Random random)
    {
        var taken = new List<IPAddress>();
        while (allocator.PickFree(taken, random) is { } address)
        {
            taken.Add(address);
        }

        return taken;
    }

    [TestCase("198.19.0.0/28", 14)]
    [TestCase("198.19.0.0/24", 16)]
    [TestCase("198.19.0.0/20", 256)]
    [TestCase("198.19.0.0/16", 256)]
    [TestCase("198.19.0.0/12", 256)]
    public void The_static_band_is_size_over_16_between_16_and_256_and_within_the_usable_addresses(string cidr, int band)
    {
        Assert.That(Allocator(cidr).StaticBandSize, Is.EqualTo((UInt128)band));
    }

    [Test]
    public void The_kept_addresses_are_offsets_1_and_10()
    {
        ClusterIPAllocator allocator = Allocator("198.19.0.0/16");

        Assert.That(allocator.KubernetesAddress, Is.EqualTo(IPAddress.Parse("198.19.0.1")));
        Assert.That(allocator.DnsAddress, Is.EqualTo(IPAddress.Parse("198.19.0.10")));
    }

    [Test]
    public void Picks_in_a_slash_16_come_from_above_the_static_band()
    {
        ClusterIPAllocator allocator = Allocator("198.19.0.0/16");
        var random = new Random(7);
        var taken = new List<IPAddress>();

        for (int i = 0; i < 2000; i++)
        {
            taken.Add(allocator.PickFree(taken, random)!);
        }

        Assert.That(taken, Is.Unique);
        Assert.That(taken.Select(a => IPAddressMath.ToUInt128(a) - IPAddressMath.ToUInt128(IPAddress.Parse("198.19.0.0"))), Has.All.GreaterThan((UInt128)256).And.All.LessThan((UInt128)65535));
    }

    [Test]
    public void A_slash_28_hands_out_its_12_addresses_and_never_the_kept_network_or_broadcast_ones()
    {
        ClusterIPAllocator allocator = Allocator("198.19.0.0/28");

        List<IPAddress> taken = Drain(allocator, new Random(1));

        Assert.That(taken, Has.Count.EqualTo(12).And.Unique);
        Assert.That(taken, Has.None.EqualTo(IPAddress.Parse("198.19.0.0")).And.None.EqualTo(IPAddress.Parse("198.19.0.15"))
            .And.None.EqualTo(IPAddress.Parse("198.19.0.1")).And.None.EqualTo(IPAddress.Parse("198.19.0.10")));
    }

    [Test]
    public void The_static_band_is_used_only_once_everything_above_it_is_taken()
    {
        ClusterIPAllocator allocator = Allocator("198.19.0.0/24");
        List<IPAddress> taken = Drain(allocator, new Random(3));

        // 254 usable, 2 kept: 252; the band is offsets 1..16, so the first 238 picks are above it.
        Assert.That(taken, Has.Count.EqualTo(252).And.Unique);
        Assert.That(taken.Take(238).Select(a => (int)a.GetAddressBytes()[3]), Has.All.GreaterThan(16));
        Assert.That(taken.Skip(238).Select(a => (int)a.GetAddressBytes()[3]), Has.All.InRange(2, 16));
    }

    [Test]
    public void An_exhausted_range_gives_null()
    {
        ClusterIPAllocator allocator = Allocator("198.19.0.0/28");
        List<IPAddress> taken = Drain(allocator, new Random(5));

        Assert.That(allocator.PickFree(taken, new Random(6)), Is.Null);
    }

    [Test]
    public void The_kept_addresses_count_as_taken_even_when_held()
    {
        ClusterIPAllocator allocator = Allocator("198.19.0.0/28");
        IPAddress[] held = [allocator.KubernetesAddress, allocator.DnsAddress];

        Assert.That(Drain(allocator, new Random(2)).Concat(held).Distinct().Count(), Is.EqualTo(14));
    }

    [Test]
    public void Addresses_outside_the_range_in_the_taken_set_are_ignored()
    {
        ClusterIPAllocator allocator = Allocator("198.19.0.0/28");
        var taken = Enumerable.Range(0, 256).Select(i => IPAddress.Parse($"198.19.1.{i}")).ToList();

        Assert.That(allocator.PickFree(taken, new Random(1)), Is.Not.Null);
    }

    [Test]
    public void The_same_random_source_gives_the_same_picks()
    {
        ClusterIPAllocator allocator = Allocator("198.19.0.0/16");

        IPAddress? first = allocator.PickFree([], new Random(42));
        IPAddress? second = allocator.PickFree([], new Random(42));

        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void An_IPv6_range_keeps_only_the_network_address_and_picks_above_its_band()
    {
        ClusterIPAllocator allocator = Allocator("2001:db8:ffff::/112");
        IPAddress picked = allocator.PickFree([], new Random(9))!;

        Assert.That(allocator.LastUsable, Is.EqualTo(IPAddress.Parse("2001:db8:ffff::ffff")));
        Assert.That(allocator.RequestProblem(IPAddress.Parse("2001:db8:ffff::ffff")), Is.Null);
        Assert.That(IPNetwork.Parse("2001:db8:ffff::/112").Contains(picked), Is.True);
        Assert.That(IPAddressMath.ToUInt128(picked) - IPAddressMath.ToUInt128(IPAddress.Parse("2001:db8:ffff::")), Is.GreaterThan((UInt128)256));
    }

    [Test]
    public void A_wide_IPv6_range_picks_fine()
    {
        ClusterIPAllocator allocator = Allocator("2001:db8:ffff::/48");

        Assert.That(IPNetwork.Parse("2001:db8:ffff::/48").Contains(allocator.PickFree([], new Random(9))!), Is.True);
    }

    [TestCase("198.19.0.1")]
    [TestCase("198.19.0.10")]
    [TestCase("198.19.0.2")]
    [TestCase("198.19.255.254")]
    public void Any_usable_address_may_be_requested_the_kept_ones_included(string address)
    {
        Assert.That(Allocator("198.19.0.0/16").RequestProblem(IPAddress.Parse(address)), Is.Null);
    }

    [TestCase("198.20.0.5", "ClusterIP 198.20.0.5 is outside the service network 198.19.0.0/16; request an address from 198.19.0.1 to 198.19.255.254")]
    [TestCase("2001:db8::5", "ClusterIP 2001:db8::5 is outside the service network 198.19.0.0/16")]
    [TestCase("198.19.0.0", "ClusterIP 198.19.0.0 is the network address of the service network 198.19.0.0/16")]
    [TestCase("198.19.255.255", "ClusterIP 198.19.255.255 is the broadcast address of the service network 198.19.0.0/16")]
    public void A_requested_address_outside_the_usable_range_is_refused_naming_the_address_and_the_range(string address, string message)
    {
        Assert.That(Allocator("198.19.0.0/16").RequestProblem(IPAddress.Parse(address)), Does.StartWith(message));
    }

    [Test]
    public void A_range_smaller_than_16_addresses_is_refused()
    {
        Assert.That(() => Allocator("198.19.0.0/29"), Throws.ArgumentException);
    }
}
