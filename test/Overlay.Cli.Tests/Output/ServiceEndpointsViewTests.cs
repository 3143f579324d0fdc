using System.Net;
using Overlay.Cli.Output;
using Overlay.Core.Services;

namespace Overlay.Cli.Tests.Output;

/// <summary>What `service endpoints` shows, from services and pods built in memory.</summary>
public sealed class ServiceEndpointsViewTests
{
    private static readonly ServicePort Http = new("http", 80, 8080, ServiceProtocol.Tcp);

    private static PodRecord Pod(string name, string node, params string[] addresses) => new()
    {
        Namespace = "default",
        Name = name,
        Node = node,
        Addresses = [.. addresses.Select(IPAddress.Parse)],
        Labels = new Dictionary<string, string> { ["app"] = "web" },
    };

    private static string Table(ServiceSpec service, params PodRecord[] pods)
    {
        var writer = new StringWriter();
        ServiceEndpointsView.WriteTable(writer, ServiceEndpointsView.Rows(service, pods));
        return writer.ToString();
    }

    [Test]
    public void A_dual_stack_pod_is_an_endpoint_in_each_family_the_service_has_a_ClusterIP_in()
    {
        var service = new ServiceSpec
        {
            Namespace = "default",
            Name = "web",
            ClusterIP = IPAddress.Parse("198.19.0.50"),
            ClusterIPv6 = IPAddress.Parse("2001:db8:5::32"),
            Ports = [Http],
            Selector = new Dictionary<string, string> { ["app"] = "web" },
        };

        IReadOnlyList<PortEndpointRows> rows = ServiceEndpointsView.Rows(service, [Pod("web-1", "198.18.1.0-24", "198.18.1.5", "2001:db8:1:1::5")]);

        Assert.That(Table(service, Pod("web-1", "198.18.1.0-24", "198.18.1.5", "2001:db8:1:1::5")), Is.EqualTo("""
            PORT          TARGET   ENDPOINT                 POD             NODE
            http:80/tcp   8080     198.18.1.5:8080          default/web-1   198.18.1.0-24
            http:80/tcp   8080     [2001:db8:1:1::5]:8080   default/web-1   198.18.1.0-24

            """));
        Assert.That(ServiceEndpointsView.Refusals(rows), Is.Empty);
    }

    [Test]
    public void A_pod_with_only_an_IPv4_address_leaves_the_IPv6_ClusterIP_refusing()
    {
        var service = new ServiceSpec
        {
            Namespace = "default",
            Name = "web",
            ClusterIP = IPAddress.Parse("198.19.0.50"),
            ClusterIPv6 = IPAddress.Parse("2001:db8:5::32"),
            Ports = [Http, new ServicePort(null, 53, 5353, ServiceProtocol.Udp)],
            Selector = new Dictionary<string, string> { ["app"] = "web" },
        };

        IReadOnlyList<PortEndpointRows> rows = ServiceEndpointsView.Rows(service, [Pod("web-1", "198.18.1.0-24", "198.18.1.5")]);

        Assert.That(ServiceEndpointsView.Refusals(rows), Is.EqualTo(new[]
        {
            "http:80/tcp has no endpoints: connections to [2001:db8:5::32]:80 are refused",
            "53/udp has no endpoints: connections to [2001:db8:5::32]:53 are refused",
        }));
    }

    [Test]
    public void A_headless_service_without_endpoints_shows_none_but_refuses_nothing_since_it_has_no_ClusterIP()
    {
        var service = new ServiceSpec
        {
            Namespace = "default",
            Name = "db",
            Ports = [Http],
            Selector = new Dictionary<string, string> { ["app"] = "db" },
        };

        IReadOnlyList<PortEndpointRows> rows = ServiceEndpointsView.Rows(service, [Pod("web-1", "198.18.1.0-24", "198.18.1.5")]);

        Assert.That(Table(service, Pod("web-1", "198.18.1.0-24", "198.18.1.5")), Is.EqualTo("""
            PORT          TARGET   ENDPOINT   POD      NODE
            http:80/tcp   8080     <none>     <none>   <none>

            """));
        Assert.That(ServiceEndpointsView.Refusals(rows), Is.Empty);
    }

    [Test]
    public void Explicit_endpoints_have_no_pod_even_when_a_pod_holds_the_address()
    {
        var service = new ServiceSpec
        {
            Namespace = "default",
            Name = "web",
            ClusterIP = IPAddress.Parse("198.19.0.50"),
            Ports = [Http],
            Endpoints = [new ServiceEndpoint(IPAddress.Parse("198.18.1.5"))],
        };

        IReadOnlyList<PortEndpointRows> rows = ServiceEndpointsView.Rows(service, [Pod("web-1", "198.18.1.0-24", "198.18.1.5")]);

        Assert.That(rows.Single().Endpoints, Is.EqualTo(new[] { new EndpointRow(IPAddress.Parse("198.18.1.5"), 8080, null) }));
    }
}
