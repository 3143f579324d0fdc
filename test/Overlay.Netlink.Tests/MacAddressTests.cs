using NUnit.Framework;

namespace Overlay.Netlink.Tests;

public class MacAddressTests
{
    [Test]
    public void A_mac_address_prints_lower_case_with_colons()
    {
        Assert.That(MacAddress.Parse("0E-4A-AB-CD-EF-01").ToString(), Is.EqualTo("0e:4a:ab:cd:ef:01"));
    }

    [Test]
    public void A_mac_address_round_trips_through_bytes()
    {
        var mac = MacAddress.Parse("0e:4a:ab:cd:ef:01");

        Assert.That(MacAddress.FromBytes(mac.ToArray()), Is.EqualTo(mac));
        Assert.That(mac.ToArray(), Is.EqualTo(new byte[] { 0x0e, 0x4a, 0xab, 0xcd, 0xef, 0x01 }));
    }

    [TestCase("")]
    [TestCase("0e:4a:ab:cd:ef")]
    [TestCase("0e:4a:ab:cd:ef:0g")]
    [TestCase("0e:4a:ab:cd:ef:011")]
    [TestCase("0e.4a.ab.cd.ef.01")]
    public void Malformed_text_is_not_a_mac_address(string text)
    {
        Assert.That(MacAddress.TryParse(text, out _), Is.False);
    }
}
