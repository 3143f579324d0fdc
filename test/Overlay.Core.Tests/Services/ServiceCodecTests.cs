using System.Net;
using Overlay.Core.Services;

namespace Overlay.Core.Tests.Services;

public class ServiceCodecTests
{
    private const string Web = """{"namespace":"default","name":"web","clusterIP":"198.19.0.23","ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}],"selector":{"app":"web"}}""";

    private static ServiceSpec WebSpec() => new()
    {
        Namespace = "default",
        Name = "web",
        ClusterIP = IPAddress.Parse("198.19.0.23"),
        Ports = [new ServicePort("http", 80, 8080, ServiceProtocol.Tcp)],
        Selector = new Dictionary<string, string> { ["app"] = "web" },
    };

    private static string Reason(string json)
    {
        bool ok = ServiceCodec.TryParse(json, out ServiceSpec? spec, out string reason);
        Assert.That(ok, Is.False, $"'{json}' should have been refused");
        Assert.That(spec, Is.Null);
        Assert.That(reason, Is.Not.Empty);
        return reason;
    }

    [Test]
    public void A_service_is_written_exactly_as_the_shared_design_shows()
    {
        Assert.That(ServiceCodec.Serialize(WebSpec()), Is.EqualTo(Web));
    }

    [Test]
    public void The_shared_designs_example_reads_back_to_the_same_service()
    {
        ServiceSpec spec = ServiceCodec.Parse(Web);

        Assert.That(spec.FullName, Is.EqualTo("default/web"));
        Assert.That(spec.ClusterIP, Is.EqualTo(IPAddress.Parse("198.19.0.23")));
        Assert.That(spec.Ports, Is.EqualTo(new[] { new ServicePort("http", 80, 8080, ServiceProtocol.Tcp) }));
        Assert.That(spec.Selector, Is.EqualTo(new Dictionary<string, string> { ["app"] = "web" }));
        Assert.That(spec.Endpoints, Is.Null);
    }

    [Test]
    public void A_headless_dual_stack_or_endpoint_service_round_trips()
    {
        ServiceSpec headless = WebSpec() with { ClusterIP = null };
        ServiceSpec dual = WebSpec() with { ClusterIPv6 = IPAddress.Parse("2001:db8:ffff::17") };
        ServiceSpec manual = WebSpec() with
        {
            Selector = null,
            Ports = [new ServicePort(null, 53, 53, ServiceProtocol.Udp)],
            Endpoints = [new ServiceEndpoint(IPAddress.Parse("198.18.1.5"), 5353), new ServiceEndpoint(IPAddress.Parse("2001:db8:1::5"))],
        };

        foreach (ServiceSpec spec in new[] { headless, dual, manual })
        {
            string json = ServiceCodec.Serialize(spec);
            ServiceSpec back = ServiceCodec.Parse(json);

            Assert.That(ServiceCodec.Serialize(back), Is.EqualTo(json));
            Assert.That(back.ClusterIP, Is.EqualTo(spec.ClusterIP));
            Assert.That(back.ClusterIPv6, Is.EqualTo(spec.ClusterIPv6));
            Assert.That(back.Ports, Is.EqualTo(spec.Ports));
            Assert.That(back.Endpoints, Is.EqualTo(spec.Endpoints));
        }

        Assert.That(ServiceCodec.Serialize(headless), Does.Contain("\"clusterIP\":\"None\""));
        Assert.That(ServiceCodec.Serialize(manual), Does.Contain("\"endpoints\":[{\"ip\":\"198.18.1.5\",\"port\":5353},{\"ip\":\"2001:db8:1::5\"}]").And.Not.Contain("selector"));
    }

    [Test]
    public void Selector_labels_are_written_in_key_order()
    {
        ServiceSpec spec = WebSpec() with { Selector = new Dictionary<string, string> { ["tier"] = "front", ["app"] = "web" } };

        Assert.That(ServiceCodec.Serialize(spec), Does.Contain("\"selector\":{\"app\":\"web\",\"tier\":\"front\"}"));
    }

    [Test]
    public void Member_names_are_read_in_any_case_and_unknown_members_are_ignored()
    {
        ServiceSpec spec = ServiceCodec.Parse("""{"NAMESPACE":"shop","Name":"cart","ClusterIp":"198.19.0.5","extra":[1],"Ports":[{"Port":443,"PROTOCOL":"UDP"}],"Selector":{"App":"Cart"}}""");

        Assert.That(spec.FullName, Is.EqualTo("shop/cart"));
        Assert.That(spec.Ports.Single(), Is.EqualTo(new ServicePort(null, 443, 443, ServiceProtocol.Udp)));
        Assert.That(spec.Selector!["App"], Is.EqualTo("Cart"));
    }

    [Test]
    public void A_missing_protocol_is_TCP_and_a_missing_target_port_is_the_port()
    {
        ServiceSpec spec = ServiceCodec.Parse("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"selector":{"app":"web"}}""");

        Assert.That(spec.Ports.Single(), Is.EqualTo(new ServicePort(null, 80, 80, ServiceProtocol.Tcp)));
    }

    [TestCase("", "not a service value")]
    [TestCase("null", "it is null")]
    [TestCase("[]", "not a service value")]
    [TestCase("{\"namespace\":\"default\"", "not a service value")]
    [TestCase("""{"name":"web","clusterIP":"None","ports":[{"port":80}],"selector":{"app":"web"}}""", "namespace is missing")]
    [TestCase("""{"namespace":"default","clusterIP":"None","ports":[{"port":80}],"selector":{"app":"web"}}""", "name is missing")]
    [TestCase("""{"namespace":"Default","name":"web","clusterIP":"None","ports":[{"port":80}],"selector":{"app":"web"}}""", "namespace 'Default' is not valid")]
    [TestCase("""{"namespace":"default","name":"1web","clusterIP":"None","ports":[{"port":80}],"selector":{"app":"web"}}""", "service name '1web' is not valid: it must start with a letter")]
    [TestCase("""{"namespace":"default","name":"web","ports":[{"port":80}],"selector":{"app":"web"}}""", "clusterIP is missing")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"none","ports":[{"port":80}],"selector":{"app":"web"}}""", "clusterIP 'none' is not an IPv4 address")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"2001:db8::1","ports":[{"port":80}],"selector":{"app":"web"}}""", "clusterIP '2001:db8::1' is not an IPv4 address")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","clusterIPv6":"198.19.0.6","ports":[{"port":80}],"selector":{"app":"web"}}""", "clusterIPv6 '198.19.0.6' is not an IPv6 address")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"None","clusterIPv6":"2001:db8::6","ports":[{"port":80}],"selector":{"app":"web"}}""", "without an IPv4 clusterIP")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","selector":{"app":"web"}}""", "ports is missing")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[],"selector":{"app":"web"}}""", "no ports")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[null],"selector":{"app":"web"}}""", "ports[0]: port is missing")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":"80"}],"selector":{"app":"web"}}""", "not a service value")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80.5}],"selector":{"app":"web"}}""", "not a service value")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":0}],"selector":{"app":"web"}}""", "port 0 is out of range 1..65535")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80,"targetPort":70000}],"selector":{"app":"web"}}""", "target port 70000 (of port 80) is out of range")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80,"protocol":"SCTP"}],"selector":{"app":"web"}}""", "protocol 'SCTP' is not TCP or UDP")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80,"protocol":"tcp"}],"selector":{"app":"web"}}""", "protocol 'tcp' is not TCP or UDP")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"name":"HTTP","port":80}],"selector":{"app":"web"}}""", "port name 'HTTP' is not valid")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"name":"a","port":80},{"name":"a","port":81}],"selector":{"app":"web"}}""", "port name 'a' is used by 2 ports")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80},{"port":80,"targetPort":81}],"selector":{"app":"web"}}""", "port 80/TCP is given 2 times")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}]}""", "neither a selector nor endpoints")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"selector":{"app":"web"},"endpoints":[{"ip":"198.18.1.5"}]}""", "both a selector and endpoints")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"selector":{}}""", "the selector is empty")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"selector":{"app":null}}""", "the value of 'app' is null")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"selector":{"app":"-web"}}""", "label value '-web' (of app) is not valid")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"selector":{"a b":"web"}}""", "label key 'a b' is not valid")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"endpoints":[]}""", "the endpoint list is empty")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"endpoints":[{"port":80}]}""", "endpoints[0]: ip is missing")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"endpoints":[{"ip":"198.18.1.256"}]}""", "endpoints[0]: ip '198.18.1.256' is not an IP address")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"endpoints":[{"ip":"198.18.1.5","port":0}]}""", "endpoint 198.18.1.5:0: port 0 is out of range")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80},{"port":81}],"endpoints":[{"ip":"198.18.1.5","port":8080}]}""", "has a port, but the service has 2 ports")]
    [TestCase("""{"namespace":"default","name":"web","clusterIP":"198.19.0.5","ports":[{"port":80}],"endpoints":[{"ip":"198.18.1.5"},{"ip":"198.18.1.5"}]}""", "endpoint 198.18.1.5 is given 2 times")]
    public void A_bad_value_gives_a_reason_and_no_exception(string json, string reason)
    {
        Assert.That(Reason(json), Does.Contain(reason));
    }

    [Test]
    public void Parse_throws_a_format_exception_with_the_reason()
    {
        Assert.That(() => ServiceCodec.Parse("{}"), Throws.TypeOf<FormatException>().With.Message.EqualTo("namespace is missing"));
    }
}
