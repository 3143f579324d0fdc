using System.Net;
using Overlay.Core.Dns;

namespace Overlay.Core.Tests.Dns;

public class AddressLabelsTests
{
    [TestCase("198.51.100.7", "198-51-100-7")]
    [TestCase("2001:db8::5", "2001-db8--5")]
    [TestCase("2001:db8:2:0:1:2:3:4", "2001-db8-2-0-1-2-3-4")]
    public void An_address_is_one_label_with_dashes_and_reads_back(string address, string label)
    {
        Assert.That(AddressLabels.Dashed(IPAddress.Parse(address)), Is.EqualTo(label));
        Assert.That(AddressLabels.ParseDashed(label), Is.EqualTo(IPAddress.Parse(address)));
    }

    [TestCase("198-51-100")]
    [TestCase("198-51-100-07")]
    [TestCase("198-51-100-256")]
    [TestCase("198.51.100.7")]
    [TestCase("web")]
    [TestCase("")]
    [TestCase("2001-db8--5%1")]
    [TestCase("2001:db8--5")]
    public void A_label_that_is_not_an_address_reads_as_none(string label)
    {
        Assert.That(AddressLabels.ParseDashed(label), Is.Null);
    }

    [TestCase("198.51.100.7", "7.100.51.198.in-addr.arpa")]
    [TestCase("2001:db8::5", "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")]
    public void The_reverse_name_of_an_address_is_its_octets_or_nibbles_backwards(string address, string name)
    {
        Assert.That(AddressLabels.ReverseName(IPAddress.Parse(address)), Is.EqualTo(name));
    }
}
