using System.Net;
using Overlay.Daemon.Underlay;

namespace Overlay.Daemon.Tests.Underlay;

public class UnderlaySelectionTests
{
    private static readonly UnderlayInterface Lo = new(1, "lo", 65536, true, true, [IPAddress.Parse("127.0.0.1")]);
    private static readonly UnderlayInterface Eth0 = new(2, "eth0", 1500, true, false, [IPAddress.Parse("192.0.2.11")]);
    private static readonly UnderlayInterface Eth1 = new(3, "eth1", 9000, true, false, [IPAddress.Parse("2001:db8::1"), IPAddress.Parse("198.51.100.7"), IPAddress.Parse("198.51.100.8")]);
    private static readonly UnderlayInterface Bare = new(4, "bare0", 1500, true, false, []);
    private static readonly UnderlayInterface[] Interfaces = [Lo, Eth0, Eth1, Bare];

    private static UnderlayChoice Choose(UnderlayRequest request, int? defaultRoute = 2, Func<IPAddress, UnderlayRoute?>? lookup = null) =>
        UnderlaySelection.Choose(request, Interfaces, lookup ?? (_ => null), defaultRoute);

    private static UnderlayRequest Request(string[]? iface = null, string[]? regex = null, IPAddress? canReach = null, IPAddress? publicIP = null) =>
        new(iface ?? [], regex ?? [], canReach, publicIP);

    [Test]
    public void Without_flags_the_default_routes_interface_and_its_first_IPv4_address_are_used()
    {
        UnderlayChoice choice = Choose(Request(), defaultRoute: 3);

        Assert.That(choice.Interface, Is.SameAs(Eth1));
        Assert.That(choice.LocalAddress, Is.EqualTo(IPAddress.Parse("198.51.100.7")));
        Assert.That(choice.PublicIP, Is.EqualTo(choice.LocalAddress));
    }

    [Test]
    public void Iface_entries_are_tried_in_order_by_name_or_address()
    {
        Assert.That(Choose(Request(iface: ["wlan9", "eth1"])).Interface, Is.SameAs(Eth1));
        UnderlayChoice byAddress = Choose(Request(iface: ["198.51.100.8"]));
        Assert.That(byAddress.Interface, Is.SameAs(Eth1));
        Assert.That(byAddress.LocalAddress, Is.EqualTo(IPAddress.Parse("198.51.100.8")));
    }

    [Test]
    public void An_iface_that_does_not_exist_names_the_interfaces_there_are()
    {
        var error = Assert.Throws<UnderlayException>(() => Choose(Request(iface: ["wlan9"])));
        Assert.That(error!.Message, Does.Contain("wlan9").And.Contain("eth0, eth1"));
    }

    [Test]
    public void A_regex_is_matched_against_addresses_before_names()
    {
        UnderlayChoice byAddress = Choose(Request(regex: [@"^198\.51\.100\.8$"]));
        Assert.That(byAddress.Interface, Is.SameAs(Eth1));
        Assert.That(byAddress.LocalAddress, Is.EqualTo(IPAddress.Parse("198.51.100.8")));
        Assert.That(Choose(Request(regex: ["^eth0$"])).Interface, Is.SameAs(Eth0));
        Assert.That(Choose(Request(regex: ["nomatch", "eth1"])).Interface, Is.SameAs(Eth1));
    }

    [Test]
    public void Can_reach_uses_the_kernels_route_lookup_and_its_source_address()
    {
        UnderlayChoice choice = Choose(Request(canReach: IPAddress.Parse("203.0.113.50")),
            lookup: destination => destination.Equals(IPAddress.Parse("203.0.113.50")) ? new UnderlayRoute(3, IPAddress.Parse("198.51.100.8")) : null);

        Assert.That(choice.Interface, Is.SameAs(Eth1));
        Assert.That(choice.LocalAddress, Is.EqualTo(IPAddress.Parse("198.51.100.8")));
    }

    [Test]
    public void A_given_public_IP_is_advertised_while_the_local_address_stays_the_interfaces()
    {
        UnderlayChoice choice = Choose(Request(publicIP: IPAddress.Parse("203.0.113.9")));
        Assert.That(choice.PublicIP, Is.EqualTo(IPAddress.Parse("203.0.113.9")));
        Assert.That(choice.LocalAddress, Is.EqualTo(IPAddress.Parse("192.0.2.11")));
    }

    [Test]
    public void No_default_route_and_no_flags_says_what_to_pass()
    {
        var error = Assert.Throws<UnderlayException>(() => Choose(Request(), defaultRoute: null));
        Assert.That(error!.Message, Does.Contain("--iface"));
    }

    [Test]
    public void An_interface_without_an_IPv4_address_is_refused_with_its_name()
    {
        var error = Assert.Throws<UnderlayException>(() => Choose(Request(iface: ["bare0"])));
        Assert.That(error!.Message, Does.Contain("bare0").And.Contain("no IPv4 address"));
    }

    [Test]
    public void In_dual_stack_the_IPv6_endpoint_is_public_ipv6_when_given()
    {
        (IPAddress address, string reason) = UnderlaySelection.ChooseIPv6(Eth1, IPAddress.Parse("2001:db8:9::9"));

        Assert.That(address, Is.EqualTo(IPAddress.Parse("2001:db8:9::9")));
        Assert.That(reason, Does.Contain("--public-ipv6"));
    }

    [Test]
    public void In_dual_stack_the_IPv6_endpoint_is_the_interfaces_first_global_IPv6_address_not_a_link_local_one()
    {
        var eth = new UnderlayInterface(5, "eth5", 1500, true, false, [IPAddress.Parse("192.0.2.5"), IPAddress.Parse("fe80::5"), IPAddress.Parse("2001:db8:1::5"), IPAddress.Parse("2001:db8:1::6")]);

        Assert.That(UnderlaySelection.ChooseIPv6(eth, null).Address, Is.EqualTo(IPAddress.Parse("2001:db8:1::5")));
    }

    [Test]
    public void In_dual_stack_an_interface_without_a_global_IPv6_address_is_an_error_that_names_public_ipv6()
    {
        var eth = new UnderlayInterface(5, "eth5", 1500, true, false, [IPAddress.Parse("192.0.2.5"), IPAddress.Parse("fe80::5")]);

        var error = Assert.Throws<UnderlayException>(() => UnderlaySelection.ChooseIPv6(eth, null));
        Assert.That(error!.Message, Does.Contain("eth5").And.Contain("--public-ipv6").And.Contain("EnableIPv6"));
    }
}
