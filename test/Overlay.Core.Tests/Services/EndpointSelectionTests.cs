using System.Net;
using System.Net.Sockets;
using Overlay.Core.Services;

namespace Overlay.Core.Tests.Services;

public class EndpointSelectionTests
{
    private static readonly ServicePort Http = new("http", 80, 8080, ServiceProtocol.Tcp);
    private static readonly ServicePort Dns = new("dns", 53, 5353, ServiceProtocol.Udp);

    private static PodRecord Pod(string name, string ns = "default", string labels = "app=web", params string[] ips) => new()
    {
        Namespace = ns,
        Name = name,
        Node = "198.18.34.0-24",
        Addresses = (ips.Length == 0 ? ["198.18.34." + (name.Length + name[^1])] : ips).Select(IPAddress.Parse).ToList(),
        Labels = labels.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToDictionary(p => p[0], p => p[1]),
    };

    private static ServiceSpec Service(string? selector = "app=web", string ns = "default", IReadOnlyList<ServiceEndpoint>? endpoints = null, params ServicePort[] ports) => new()
    {
        Namespace = ns,
        Name = "web",
        ClusterIP = IPAddress.Parse("198.19.0.23"),
        Ports = ports.Length == 0 ? [Http] : ports,
        Selector = selector?.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=')).ToDictionary(p => p[0], p => p[1]),
        Endpoints = endpoints,
    };

    [Test]
    public void A_pod_is_selected_when_it_carries_every_label_of_the_selector_with_the_same_value()
    {
        ServiceSpec service = Service("app=web,tier=front");

        Assert.That(EndpointSelection.Selects(service, Pod("a", labels: "app=web,tier=front,extra=1")), Is.True);
        Assert.That(EndpointSelection.Selects(service, Pod("b", labels: "app=web")), Is.False, "a label missing");
        Assert.That(EndpointSelection.Selects(service, Pod("c", labels: "app=web,tier=back")), Is.False, "a value differs");
        Assert.That(EndpointSelection.Selects(service, Pod("d", labels: "App=web,tier=front")), Is.False, "keys are case-sensitive");
    }

    [Test]
    public void Only_pods_of_the_services_namespace_are_selected()
    {
        ServiceSpec service = Service(ns: "shop");

        Assert.That(EndpointSelection.SelectPods(service, [Pod("a", ns: "default"), Pod("b", ns: "shop")]).Select(p => p.FullName), Is.EqualTo(new[] { "shop/b" }));
    }

    [Test]
    public void An_empty_selector_or_none_selects_no_pod()
    {
        PodRecord[] pods = [Pod("a"), Pod("b", labels: "")];

        Assert.That(EndpointSelection.SelectPods(Service(""), pods), Is.Empty);
        Assert.That(EndpointSelection.SelectPods(Service(null), pods), Is.Empty);
    }

    [Test]
    public void Selected_pods_come_in_name_order_whatever_the_input_order()
    {
        PodRecord[] pods = [Pod("web-3"), Pod("web-1"), Pod("web-2")];

        Assert.That(EndpointSelection.SelectPods(Service(), pods).Select(p => p.Name), Is.EqualTo(new[] { "web-1", "web-2", "web-3" }));
        Assert.That(EndpointSelection.SelectPods(Service(), pods.Reverse()).Select(p => p.Name), Is.EqualTo(new[] { "web-1", "web-2", "web-3" }));
    }

    [Test]
    public void Each_port_leads_to_the_selected_pods_at_its_target_port_ordered_by_address()
    {
        PodRecord[] pods = [Pod("web-1", ips: "198.18.34.20"), Pod("web-2", ips: "198.18.2.9"), Pod("db", labels: "app=db", ips: "198.18.34.30")];

        IReadOnlyList<PortEndpoints> endpoints = EndpointSelection.Endpoints(Service(ports: [Http, Dns]), pods, AddressFamily.InterNetwork);

        Assert.That(endpoints.Select(e => e.Port), Is.EqualTo(new[] { Http, Dns }));
        Assert.That(endpoints[0].Endpoints, Is.EqualTo(new[] { (IPAddress.Parse("198.18.2.9"), 8080), (IPAddress.Parse("198.18.34.20"), 8080) }));
        Assert.That(endpoints[1].Endpoints, Is.EqualTo(new[] { (IPAddress.Parse("198.18.2.9"), 5353), (IPAddress.Parse("198.18.34.20"), 5353) }));
    }

    [Test]
    public void IPv4_endpoints_are_for_the_IPv4_ClusterIP_and_IPv6_ones_for_the_IPv6_ClusterIP()
    {
        PodRecord[] pods = [Pod("web-1", ips: ["198.18.34.20", "2001:db8:0:22::20"]), Pod("web-2", ips: "198.18.2.9")];

        var v4 = EndpointSelection.Endpoints(Service(), pods, AddressFamily.InterNetwork);
        var v6 = EndpointSelection.Endpoints(Service(), pods, AddressFamily.InterNetworkV6);

        Assert.That(v4[0].Endpoints.Select(e => e.Address.ToString()), Is.EqualTo(new[] { "198.18.2.9", "198.18.34.20" }));
        Assert.That(v6[0].Endpoints, Is.EqualTo(new[] { (IPAddress.Parse("2001:db8:0:22::20"), 8080) }));
    }

    [Test]
    public void A_service_whose_selector_matches_nothing_has_its_ports_with_no_endpoints()
    {
        IReadOnlyList<PortEndpoints> endpoints = EndpointSelection.Endpoints(Service("app=none"), [Pod("web-1")], AddressFamily.InterNetwork);

        Assert.That(endpoints, Has.Count.EqualTo(1));
        Assert.That(endpoints[0].Endpoints, Is.Empty);
    }

    [Test]
    public void Explicit_endpoints_without_a_port_go_to_each_ports_target_port_and_pods_are_ignored()
    {
        ServiceSpec service = Service(null, endpoints: [new(IPAddress.Parse("203.0.113.9")), new(IPAddress.Parse("198.51.100.7"))], ports: [Http, Dns]);

        var endpoints = EndpointSelection.Endpoints(service, [Pod("web-1")], AddressFamily.InterNetwork);

        Assert.That(endpoints[0].Endpoints, Is.EqualTo(new[] { (IPAddress.Parse("198.51.100.7"), 8080), (IPAddress.Parse("203.0.113.9"), 8080) }));
        Assert.That(endpoints[1].Endpoints, Is.EqualTo(new[] { (IPAddress.Parse("198.51.100.7"), 5353), (IPAddress.Parse("203.0.113.9"), 5353) }));
    }

    [Test]
    public void An_explicit_endpoints_port_replaces_the_target_port()
    {
        ServiceSpec service = Service(null, endpoints: [new(IPAddress.Parse("198.51.100.7"), 9000), new(IPAddress.Parse("198.51.100.8"))]);

        var endpoints = EndpointSelection.Endpoints(service, [], AddressFamily.InterNetwork);

        Assert.That(endpoints[0].Endpoints, Is.EqualTo(new[] { (IPAddress.Parse("198.51.100.7"), 9000), (IPAddress.Parse("198.51.100.8"), 8080) }));
    }

    [Test]
    public void Explicit_endpoints_are_split_by_family()
    {
        ServiceSpec service = Service(null, endpoints: [new(IPAddress.Parse("198.51.100.7")), new(IPAddress.Parse("2001:db8::7"), 9000)]);

        Assert.That(EndpointSelection.Endpoints(service, [], AddressFamily.InterNetwork)[0].Endpoints.Select(e => e.Address.ToString()), Is.EqualTo(new[] { "198.51.100.7" }));
        Assert.That(EndpointSelection.Endpoints(service, [], AddressFamily.InterNetworkV6)[0].Endpoints, Is.EqualTo(new[] { (IPAddress.Parse("2001:db8::7"), 9000) }));
    }

    [Test]
    public void The_same_address_twice_is_one_endpoint()
    {
        PodRecord[] pods = [Pod("web-1", ips: "198.18.34.20"), Pod("web-1b", ips: "198.18.34.20")];

        Assert.That(EndpointSelection.Endpoints(Service(), pods, AddressFamily.InterNetwork)[0].Endpoints, Has.Count.EqualTo(1));
    }
}
