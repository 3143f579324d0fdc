using System.Net;
using Overlay.Core.Services;

namespace Overlay.Core.Tests.Services;

public class ServiceInputTests
{
    [TestCase("80", null, 80, 80, ServiceProtocol.Tcp)]
    [TestCase("80:8080", null, 80, 8080, ServiceProtocol.Tcp)]
    [TestCase("http:80", "http", 80, 80, ServiceProtocol.Tcp)]
    [TestCase("http:80:8080", "http", 80, 8080, ServiceProtocol.Tcp)]
    [TestCase("http:80:8080/tcp", "http", 80, 8080, ServiceProtocol.Tcp)]
    [TestCase("dns:53/udp", "dns", 53, 53, ServiceProtocol.Udp)]
    [TestCase("53/UDP", null, 53, 53, ServiceProtocol.Udp)]
    [TestCase("1:65535", null, 1, 65535, ServiceProtocol.Tcp)]
    [TestCase("h2c-web:8443", "h2c-web", 8443, 8443, ServiceProtocol.Tcp)]
    public void A_port_spec_reads_name_port_target_and_protocol(string text, string? name, int port, int target, ServiceProtocol protocol)
    {
        Assert.That(ServicePortSpec.Parse(text), Is.EqualTo(new ServicePort(name, port, target, protocol)));
    }

    [TestCase("", "port is empty")]
    [TestCase("0", "port 0 is out of range 1..65535")]
    [TestCase("65536", "port 65536 is out of range 1..65535")]
    [TestCase("99999999999", "port 99999999999 is out of range")]
    [TestCase("-1", "port '-1' is not a number")]
    [TestCase("-x:80", "port name '-x' is not valid")]
    [TestCase("80:0", "target port 0 is out of range")]
    [TestCase("80:http", "target port 'http' is not a number")]
    [TestCase("http:", "port is empty")]
    [TestCase("80/sctp", "'sctp' is not a protocol Overlay serves (tcp or udp)")]
    [TestCase("80/", "the protocol after '/' is empty")]
    [TestCase("a:b:80:81", "it has 3 ':'")]
    [TestCase("HTTP:80", "port name 'HTTP' is not valid")]
    [TestCase("a-very-long-port-name:80", "more than 15")]
    [TestCase("h--p:80", "\"--\"")]
    [TestCase("123:456:789", "port name '123' is not valid: it must contain a letter")]
    [TestCase("http:+80", "port '+80' is not a number")]
    [TestCase(" 80", "port ' 80' is not a number")]
    public void A_bad_port_spec_names_the_input_and_the_syntax(string text, string reason)
    {
        bool ok = ServicePortSpec.TryParse(text, out ServicePort? port, out string error);

        Assert.That(ok, Is.False);
        Assert.That(port, Is.Null);
        Assert.That(error, Does.StartWith($"port '{text}' is not valid: ").And.Contain(reason).And.EndWith("give [NAME:]PORT[:TARGET][/tcp|udp], e.g. 80, 80:8080 or http:80:8080/tcp"));
    }

    [TestCase("http:80:8080/tcp")]
    [TestCase("53/udp")]
    [TestCase("80/tcp")]
    [TestCase("80:81/tcp")]
    public void A_formatted_port_spec_parses_back_to_itself(string text)
    {
        Assert.That(ServicePortSpec.Format(ServicePortSpec.Parse(text)), Is.EqualTo(text));
    }

    [Test]
    public void Selectors_add_up_over_flags_and_commas()
    {
        bool ok = SelectorSpec.TryParse(["app=web,tier=front", "example.com/release=v1.2_3", "empty="], out IReadOnlyDictionary<string, string>? selector, out string error);

        Assert.That(ok, Is.True, error);
        Assert.That(selector, Is.EqualTo(new Dictionary<string, string> { ["app"] = "web", ["tier"] = "front", ["example.com/release"] = "v1.2_3", ["empty"] = "" }));
    }

    [TestCase("app", "selector 'app' is not valid: it has no '='")]
    [TestCase("=web", "label key '' is not valid: the name is empty")]
    [TestCase("app=web=x", "label value 'web=x' (of app) is not valid: '=' is not allowed")]
    [TestCase("app=-web", "must start and end with a letter or digit")]
    [TestCase("/app=web", "the prefix before '/' is empty")]
    [TestCase("Example.com/app=web", "the prefix 'Example.com' is not a DNS subdomain")]
    [TestCase("app/=web", "the name is empty")]
    [TestCase("a b=web", "' ' is not allowed")]
    [TestCase("app=web,app=db", "the label key 'app' is already given (=web)")]
    [TestCase("app=web,", "selector '' is not valid: it has no '='")]
    public void A_bad_selector_names_the_input(string text, string reason)
    {
        bool ok = SelectorSpec.TryParse([text], out IReadOnlyDictionary<string, string>? selector, out string error);

        Assert.That(ok, Is.False);
        Assert.That(selector, Is.Null);
        Assert.That(error, Does.Contain(reason));
    }

    [Test]
    public void A_label_value_of_64_characters_is_too_long()
    {
        Assert.That(SelectorSpec.Problem("app", new string('a', 64)), Does.Contain("64 characters long, more than 63"));
        Assert.That(SelectorSpec.Problem("app", new string('a', 63)), Is.Null);
    }

    [TestCase("198.18.1.5:8080", "198.18.1.5", 8080)]
    [TestCase("198.18.1.5", "198.18.1.5", null)]
    [TestCase("[2001:db8::5]:8080", "2001:db8::5", 8080)]
    [TestCase("2001:db8::5", "2001:db8::5", null)]
    [TestCase("[2001:db8::5]", "2001:db8::5", null)]
    public void An_endpoint_is_an_address_and_maybe_a_port(string text, string address, int? port)
    {
        ServiceEndpoint endpoint = EndpointSpec.Parse(text);

        Assert.That(endpoint, Is.EqualTo(new ServiceEndpoint(IPAddress.Parse(address), port)));
    }

    [TestCase("198.18.1.5:0", "port 0 is out of range")]
    [TestCase("198.18.1.5:", "port is empty")]
    [TestCase("198.18.1.5:http", "port 'http' is not a number")]
    [TestCase("198.18.1:80", "'198.18.1' is not an IP address")]
    [TestCase("198.018.1.5", "'198.018.1.5' is not an IP address")]
    [TestCase("web:80", "'web' is not an IP address")]
    [TestCase("[2001:db8::5:8080", "the '[' has no ']'")]
    [TestCase("[2001:db8::5]8080", "'8080' after ']' is not ':PORT'")]
    [TestCase("[198.18.1.5]:80", "brackets are for IPv6 addresses")]
    [TestCase("", "'' is not an IP address")]
    public void A_bad_endpoint_names_the_input(string text, string reason)
    {
        bool ok = EndpointSpec.TryParse(text, out ServiceEndpoint? endpoint, out string error);

        Assert.That(ok, Is.False);
        Assert.That(endpoint, Is.Null);
        Assert.That(error, Does.StartWith($"endpoint '{text}' is not valid: ").And.Contain(reason).And.Contain("IP[:PORT]"));
    }

    [TestCase("198.18.1.5:8080")]
    [TestCase("[2001:db8::5]:8080")]
    [TestCase("2001:db8::5")]
    public void A_formatted_endpoint_parses_back_to_itself(string text)
    {
        Assert.That(EndpointSpec.Format(EndpointSpec.Parse(text)), Is.EqualTo(text));
    }

    [TestCase("default", true)]
    [TestCase("kube-system", true)]
    [TestCase("1st", true)]
    [TestCase("Default", false)]
    [TestCase("-ns", false)]
    [TestCase("ns-", false)]
    [TestCase("a.b", false)]
    [TestCase("", false)]
    public void A_namespace_is_an_RFC_1123_label(string text, bool valid)
    {
        string? problem = ServiceValidation.NamespaceProblem(text);

        Assert.That(problem, valid ? Is.Null : Does.StartWith($"namespace '{text}' is not valid: "));
    }

    [TestCase("web", true)]
    [TestCase("web-2", true)]
    [TestCase("2web", false)]
    [TestCase("Web", false)]
    [TestCase("web_2", false)]
    public void A_service_name_is_an_RFC_1035_label(string text, bool valid)
    {
        string? problem = ServiceValidation.NameProblem(text);

        Assert.That(problem, valid ? Is.Null : Does.StartWith($"service name '{text}' is not valid: "));
    }

    [Test]
    public void Names_of_63_characters_are_allowed_and_64_are_not()
    {
        Assert.That(ServiceValidation.NameProblem("a" + new string('b', 62)), Is.Null);
        Assert.That(ServiceValidation.NameProblem("a" + new string('b', 63)), Does.Contain("more than 63"));
    }
}
