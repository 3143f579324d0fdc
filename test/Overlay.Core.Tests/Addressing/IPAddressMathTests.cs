using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;

namespace Overlay.Core.Tests.Addressing;

public class IPAddressMathTests
{
    [TestCase("198.18.0.0")]
    [TestCase("255.255.255.255")]
    [TestCase("2001:db8::1")]
    [TestCase("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    public void An_address_survives_the_round_trip_through_an_integer(string text)
    {
        IPAddress address = IPAddress.Parse(text);
        Assert.That(IPAddressMath.FromUInt128(IPAddressMath.ToUInt128(address), address.AddressFamily), Is.EqualTo(address));
    }

    [Test]
    public void The_last_address_of_a_network_is_its_broadcast()
    {
        Assert.That(IPAddressMath.FromUInt128(IPAddressMath.Last(IPNetwork.Parse("198.18.4.0/22")), AddressFamily.InterNetwork),
            Is.EqualTo(IPAddress.Parse("198.18.7.255")));
        Assert.That(IPAddressMath.Last(IPNetwork.Parse("::/0")), Is.EqualTo(UInt128.MaxValue));
    }

    [TestCase("198.18.0.0/24", "198.18.0.128/25", true)]
    [TestCase("198.18.0.0/24", "198.18.1.0/24", false)]
    [TestCase("198.18.0.0/16", "198.18.200.0/24", true)]
    [TestCase("2001:db8::/64", "2001:db8:0:1::/64", false)]
    [TestCase("198.18.0.0/24", "2001:db8::/64", false)]
    public void Overlap_is_symmetric_and_exact(string a, string b, bool expected)
    {
        IPNetwork x = IPNetwork.Parse(a);
        IPNetwork y = IPNetwork.Parse(b);
        Assert.That(IPAddressMath.Overlaps(x, y), Is.EqualTo(expected));
        Assert.That(IPAddressMath.Overlaps(y, x), Is.EqualTo(expected));
    }

    [TestCase("1.2.3")]
    [TestCase("010.1.2.3")]
    [TestCase("1.2.3.256")]
    [TestCase("1.2.3.4.5")]
    [TestCase("1..2.3")]
    [TestCase(" 1.2.3.4")]
    [TestCase("0x1.2.3.4")]
    public void Only_a_plain_dotted_quad_parses_as_IPv4(string text)
    {
        Assert.That(IPAddressMath.TryParseDottedQuad(text, out _), Is.False);
    }

    [TestCase("0.0.0.0")]
    [TestCase("192.0.2.10")]
    [TestCase("255.255.255.255")]
    public void A_dotted_quad_parses(string text)
    {
        Assert.That(IPAddressMath.TryParseDottedQuad(text, out IPAddress? address), Is.True);
        Assert.That(address!.ToString(), Is.EqualTo(text));
    }

    [Test]
    public void A_network_with_host_bits_is_refused_instead_of_masked()
    {
        Assert.That(IPAddressMath.TryParseNetwork("198.18.3.1/16", out _, out string error), Is.False);
        Assert.That(error, Does.Contain("198.18.0.0/16"));
    }

    [Test]
    public void Offset_counts_from_the_network_address()
    {
        Assert.That(IPAddressMath.Offset(IPNetwork.Parse("198.18.34.0/24"), 1), Is.EqualTo(IPAddress.Parse("198.18.34.1")));
    }
}
