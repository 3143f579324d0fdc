using System.Net;
using Overlay.Core.Leases;

namespace Overlay.Core.Tests.Leases;

public class LeaseAttributesTests
{
    private const string FlannelSample =
        "{\"PublicIP\":\"192.0.2.11\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"0e:2a:11:22:33:44\"}}";

    [Test]
    public void Flannels_sample_value_is_read_and_written_back_byte_for_byte()
    {
        LeaseAttributes attributes = LeaseAttributes.Parse(FlannelSample);

        Assert.That(attributes.PublicAddress, Is.EqualTo(IPAddress.Parse("192.0.2.11")));
        Assert.That(attributes.BackendData!.Vni, Is.EqualTo(1));
        Assert.That(attributes.BackendData.VtepMac, Is.EqualTo("0e:2a:11:22:33:44"));
        Assert.That(attributes.OwnerId, Is.Null);
        Assert.That(attributes.ToJson(), Is.EqualTo(FlannelSample));
    }

    [Test]
    public void The_owner_id_is_an_extra_member_at_the_end()
    {
        var attributes = new LeaseAttributes
        {
            PublicIP = "192.0.2.11",
            BackendType = "vxlan",
            BackendData = new VxlanBackendData { Vni = 1, VtepMac = "0e:2a:11:22:33:44" },
            OwnerId = "node-a",
        };

        Assert.That(attributes.ToJson(), Is.EqualTo(FlannelSample[..^1] + ",\"OverlayOwner\":\"node-a\"}"));
        Assert.That(LeaseAttributes.Parse(attributes.ToJson()), Is.EqualTo(attributes));
    }

    [Test]
    public void A_dual_stack_value_carries_the_IPv6_address_and_data()
    {
        const string json = "{\"PublicIP\":\"192.0.2.11\",\"PublicIPv6\":\"2001:db8::11\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"0e:2a:11:22:33:44\"},\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"0e:2a:11:22:33:55\"}}";
        LeaseAttributes attributes = LeaseAttributes.Parse(json);

        Assert.That(attributes.PublicAddressV6, Is.EqualTo(IPAddress.Parse("2001:db8::11")));
        Assert.That(attributes.BackendV6Data!.VtepMac, Is.EqualTo("0e:2a:11:22:33:55"));
        Assert.That(attributes.ToJson(), Is.EqualTo(json));
    }

    [Test]
    public void Unknown_members_and_other_casing_are_tolerated_as_Go_does()
    {
        LeaseAttributes attributes = LeaseAttributes.Parse(
            "{\"publicip\":\"192.0.2.12\",\"Future\":{\"x\":[1]},\"backendtype\":\"vxlan\",\"backenddata\":{\"vni\":7,\"vtepmac\":\"02:00:00:00:00:01\",\"Extra\":true}}");

        Assert.That(attributes.PublicIP, Is.EqualTo("192.0.2.12"));
        Assert.That(attributes.BackendData!.Vni, Is.EqualTo(7));
    }

    [TestCase("not json", "not a lease value")]
    [TestCase("null", "it is null")]
    [TestCase("{\"PublicIP\":\"192.0.2\"}", "is not an IPv4 address")]
    [TestCase("{\"PublicIP\":\"2001:db8::1\"}", "is not an IPv4 address")]
    [TestCase("{\"BackendType\":\"vxlan\"}", "PublicIP")]
    [TestCase("{\"PublicIP\":\"192.0.2.1\",\"PublicIPv6\":\"192.0.2.1\"}", "PublicIPv6")]
    [TestCase("{\"PublicIP\":\"192.0.2.1\",\"BackendData\":{\"VNI\":\"one\"}}", "not a lease value")]
    [TestCase("[1,2,3]", "not a lease value")]
    public void A_malformed_value_is_rejected_with_the_reason(string json, string reason)
    {
        Assert.That(LeaseAttributes.TryParse(json, out LeaseAttributes? attributes, out string why), Is.False);
        Assert.That(attributes, Is.Null);
        Assert.That(why, Does.Contain(reason));
    }

    [Test]
    public void A_MAC_is_formatted_lower_case_with_colons_and_parsed_back()
    {
        byte[] mac = [0x0E, 0x2A, 0xAB, 0xCD, 0x00, 0xFF];
        string text = VtepMac.Format(mac);

        Assert.That(text, Is.EqualTo("0e:2a:ab:cd:00:ff"));
        Assert.That(VtepMac.TryParse(text, out byte[] parsed), Is.True);
        Assert.That(parsed, Is.EqualTo(mac));
        Assert.That(VtepMac.TryParse("0E:2A:AB:CD:00:FF", out _), Is.True);
    }

    [TestCase("0e-2a-ab-cd-00-ff")]
    [TestCase("0e:2a:ab:cd:00")]
    [TestCase("0e:2a:ab:cd:00:fg")]
    [TestCase("")]
    public void A_malformed_MAC_is_rejected(string text)
    {
        Assert.That(VtepMac.TryParse(text, out _), Is.False);
    }
}
