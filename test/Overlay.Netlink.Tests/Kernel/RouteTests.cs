using System.Net;
using System.Text.Json;
using NUnit.Framework;

namespace Overlay.Netlink.Tests.Kernel;

public class RouteTests : NamespaceFixture
{
    private static readonly IPNetwork Remote = IPNetwork.Parse("198.18.2.0/24");
    private static readonly IPAddress RemoteGateway = IPAddress.Parse("198.18.2.0");

    private JsonElement[] RoutesByIp(string device) => Ns.IpJson("route", "show", "table", "main", "dev", device).EnumerateArray().ToArray();

    [Test]
    public void Replacing_a_route_with_gateway_and_onlink_is_seen_by_ip()
    {
        LinkInfo link = CreateFlannelDevice();

        Handle.ReplaceRoute(RouteEntry.ViaGateway(Remote, RemoteGateway, link.Index, onLink: true));

        JsonElement[] routes = RoutesByIp("flannel.1");
        Assert.That(routes, Has.Length.EqualTo(1));
        Assert.That(routes[0].GetProperty("dst").GetString(), Is.EqualTo("198.18.2.0/24"));
        Assert.That(routes[0].GetProperty("gateway").GetString(), Is.EqualTo("198.18.2.0"));
        Assert.That(routes[0].GetProperty("flags").EnumerateArray().Select(f => f.GetString()), Does.Contain("onlink"));
    }

    [Test]
    public void Replacing_a_route_twice_leaves_one_route()
    {
        LinkInfo link = CreateFlannelDevice();
        RouteEntry route = RouteEntry.ViaGateway(Remote, RemoteGateway, link.Index, onLink: true);

        Handle.ReplaceRoute(route);
        Handle.ReplaceRoute(route);

        Assert.That(RoutesByIp("flannel.1"), Has.Length.EqualTo(1));
    }

    [Test]
    public void A_listed_route_equals_the_entry_that_programmed_it()
    {
        LinkInfo link = CreateFlannelDevice();
        RouteEntry route = RouteEntry.ViaGateway(Remote, RemoteGateway, link.Index, onLink: true);
        Handle.ReplaceRoute(route);

        IReadOnlyList<RouteEntry> listed = Handle.ListRoutes(interfaceIndex: link.Index, family: System.Net.Sockets.AddressFamily.InterNetwork);

        Assert.That(listed, Is.EqualTo(new[] { route }));
    }

    [Test]
    public void Replacing_a_route_via_a_gateway_without_a_device_lets_the_kernel_choose_the_device()
    {
        Handle.ReplaceRoute(RouteEntry.ViaGateway(IPNetwork.Parse("198.51.100.0/24"), IPAddress.Parse("192.0.2.254")));

        JsonElement route = Ns.IpJson("route", "show", "198.51.100.0/24")[0];
        Assert.That(route.GetProperty("dev").GetString(), Is.EqualTo("under0"));
        Assert.That(route.GetProperty("gateway").GetString(), Is.EqualTo("192.0.2.254"));
    }

    [Test]
    public void Listing_routes_by_device_and_table_returns_only_those()
    {
        LinkInfo link = CreateFlannelDevice();
        Handle.ReplaceRoute(RouteEntry.ViaGateway(Remote, RemoteGateway, link.Index, onLink: true));
        Handle.ReplaceRoute(RouteEntry.ViaGateway(IPNetwork.Parse("198.18.3.0/24"), IPAddress.Parse("198.18.3.0"), link.Index, onLink: true) with { Table = 1000 });
        Handle.ReplaceRoute(RouteEntry.ViaGateway(IPNetwork.Parse("198.51.100.0/24"), IPAddress.Parse("192.0.2.254"), UnderlayIndex));

        Assert.That(Handle.ListRoutes(interfaceIndex: link.Index, family: System.Net.Sockets.AddressFamily.InterNetwork).Select(r => r.Destination.ToString()),
            Is.EqualTo(new[] { "198.18.2.0/24" }));
        Assert.That(Handle.ListRoutes(table: 1000).Select(r => r.Destination.ToString()), Is.EqualTo(new[] { "198.18.3.0/24" }));
        Assert.That(Ns.IpJson("route", "show", "table", "1000")[0].GetProperty("dst").GetString(), Is.EqualTo("198.18.3.0/24"));
        Assert.That(Handle.ListRoutes(family: System.Net.Sockets.AddressFamily.InterNetwork).Select(r => r.Destination.ToString()),
            Is.EquivalentTo(new[] { "198.18.2.0/24", "198.51.100.0/24", "192.0.2.0/24" }));
    }

    [Test]
    public void Deleting_a_route_removes_it()
    {
        LinkInfo link = CreateFlannelDevice();
        RouteEntry route = RouteEntry.ViaGateway(Remote, RemoteGateway, link.Index, onLink: true);
        Handle.ReplaceRoute(route);

        Handle.DeleteRoute(route);

        Assert.That(RoutesByIp("flannel.1"), Is.Empty);
    }

    [Test]
    public void An_ipv6_route_is_programmed_and_listed()
    {
        LinkInfo link = CreateFlannelDevice();
        var route = RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:2::/64"), IPAddress.Parse("2001:db8:2::"), link.Index, onLink: true);

        Handle.ReplaceRoute(route);

        Assert.That(Ns.IpJson("-6", "route", "show", "2001:db8:2::/64")[0].GetProperty("gateway").GetString(), Is.EqualTo("2001:db8:2::"));
        RouteEntry listed = Handle.ListRoutes(interfaceIndex: link.Index).Single(r => r.Destination == route.Destination);
        Assert.That(listed with { Metric = 0 }, Is.EqualTo(route));
    }

    [Test]
    public void Looking_up_a_route_gives_device_gateway_and_source()
    {
        LinkInfo link = CreateFlannelDevice();
        Handle.AddAddress(new AddressEntry(link.Index, IPAddress.Parse("198.18.1.0"), 32));
        Handle.ReplaceRoute(RouteEntry.ViaGateway(Remote, RemoteGateway, link.Index, onLink: true));

        RouteLookup viaFlannel = Handle.LookupRoute(IPAddress.Parse("198.18.2.7"));
        RouteLookup onUnderlay = Handle.LookupRoute(IPAddress.Parse("192.0.2.9"));

        Assert.That(viaFlannel, Is.EqualTo(new RouteLookup(IPAddress.Parse("198.18.2.7"), link.Index, RemoteGateway, IPAddress.Parse("198.18.1.0"), 254)));
        Assert.That(onUnderlay.InterfaceIndex, Is.EqualTo(UnderlayIndex));
        Assert.That(onUnderlay.Gateway, Is.Null);
        Assert.That(onUnderlay.PreferredSource, Is.EqualTo(UnderlayAddress));
    }

    [Test]
    public void Looking_up_an_unroutable_destination_fails_with_ENETUNREACH()
    {
        var error = Assert.Throws<NetlinkException>(() => Handle.LookupRoute(IPAddress.Parse("203.0.113.9")));

        Assert.That(error!.ErrorName, Is.EqualTo("ENETUNREACH"));
        Assert.That(error.Operation, Is.EqualTo("get route to 203.0.113.9"));
    }

    [Test]
    public void A_gateway_off_link_without_onlink_is_refused_with_the_kernels_text_and_the_operation()
    {
        LinkInfo link = CreateFlannelDevice();

        var error = Assert.Throws<NetlinkException>(() => Handle.ReplaceRoute(RouteEntry.ViaGateway(Remote, RemoteGateway, link.Index)));

        Assert.That(error!.ErrorName, Is.EqualTo("ENETUNREACH"));
        Assert.That(error.KernelMessage, Is.Not.Null.And.Not.Empty);
        Assert.That(error.Message, Does.StartWith("replace route 198.18.2.0/24 via 198.18.2.0 dev flannel.1: ENETUNREACH (Network is unreachable; kernel: "));
    }
}
