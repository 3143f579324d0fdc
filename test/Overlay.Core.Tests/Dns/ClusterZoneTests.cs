using Overlay.Core.Dns;
using Overlay.Core.Services;
using static Overlay.Core.Tests.Dns.ZoneFixtures;

namespace Overlay.Core.Tests.Dns;

public class ClusterZoneTests
{
    private const string Soa = "cluster.local 5 SOA ns.dns.cluster.local hostmaster.cluster.local 1796065200 7200 1800 86400 5";

    private static void AssertNxDomain(ZoneAnswer? answer, string name)
    {
        Assert.That(answer, Is.Not.Null, $"{name}: forwarded instead of answered");
        Assert.That(answer!.Code, Is.EqualTo(DnsResponseCode.NameError), name);
        Assert.That(answer.Authoritative, Is.True, name);
        Assert.That(answer.Answers, Is.Empty, name);
        Assert.That(Authority(answer), Is.EqualTo(new[] { Soa }), name);
    }

    private static void AssertNoData(ZoneAnswer? answer, string name, string soa = Soa)
    {
        Assert.That(answer, Is.Not.Null, $"{name}: forwarded instead of answered");
        Assert.That(answer!.Code, Is.EqualTo(DnsResponseCode.NoError), name);
        Assert.That(answer.Authoritative, Is.True, name);
        Assert.That(answer.Answers, Is.Empty, name);
        Assert.That(Authority(answer), Is.EqualTo(new[] { soa }), name);
    }

    private static void AssertAnswers(ZoneAnswer? answer, params string[] lines)
    {
        Assert.That(answer, Is.Not.Null, "forwarded instead of answered");
        Assert.That(answer!.Code, Is.EqualTo(DnsResponseCode.NoError));
        Assert.That(answer.Authoritative, Is.True);
        Assert.That(Answers(answer), Is.EqualTo(lines));
        Assert.That(answer.Authority, Is.Empty, "a positive answer carries no SOA");
    }

    [Test]
    public void A_service_name_answers_A_with_its_ClusterIP()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web"), None);

        AssertAnswers(zone.Lookup("web.default.svc.cluster.local", DnsType.A), "web.default.svc.cluster.local 5 A 198.19.0.23");
    }

    [Test]
    public void A_dual_stack_service_answers_AAAA_with_its_IPv6_ClusterIP_and_an_IPv4_only_one_has_no_AAAA()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", clusterIPv6: "2001:db8:1::17"), None);
        zone.SetService(Service("api", clusterIP: "198.19.0.24"), None);

        AssertAnswers(zone.Lookup("web.default.svc.cluster.local", DnsType.AAAA), "web.default.svc.cluster.local 5 AAAA 2001:db8:1::17");
        AssertAnswers(zone.Lookup("web.default.svc.cluster.local", DnsType.A), "web.default.svc.cluster.local 5 A 198.19.0.23");
        AssertNoData(zone.Lookup("api.default.svc.cluster.local", DnsType.AAAA), "api AAAA");
    }

    [Test]
    public void A_headless_service_answers_A_and_AAAA_with_each_endpoint_address_of_the_family()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Headless("db"), Addresses("198.18.1.5", "2001:db8:2::5", "198.18.2.6"));

        AssertAnswers(
            zone.Lookup("db.default.svc.cluster.local", DnsType.A),
            "db.default.svc.cluster.local 5 A 198.18.1.5",
            "db.default.svc.cluster.local 5 A 198.18.2.6");
        AssertAnswers(zone.Lookup("db.default.svc.cluster.local", DnsType.AAAA), "db.default.svc.cluster.local 5 AAAA 2001:db8:2::5");
    }

    [Test]
    public void The_endpoints_of_a_service_with_a_ClusterIP_are_not_its_addresses()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web"), Addresses("198.18.1.5"));

        AssertAnswers(zone.Lookup("web.default.svc.cluster.local", DnsType.A), "web.default.svc.cluster.local 5 A 198.19.0.23");
        AssertNxDomain(zone.Lookup("198-18-1-5.web.default.svc.cluster.local", DnsType.A), "no endpoint names without headless");
    }

    [Test]
    public void A_headless_service_without_endpoints_exists_with_no_addresses()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Headless("db"), None);

        AssertNoData(zone.Lookup("db.default.svc.cluster.local", DnsType.A), "db A");
        AssertNoData(zone.Lookup("_http._tcp.db.default.svc.cluster.local", DnsType.SRV), "db SRV");
    }

    [Test]
    public void A_named_port_has_an_SRV_record_targeting_the_service_with_its_addresses_in_the_additional_section()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", clusterIPv6: "2001:db8:1::17", ports: [Http, DnsPort]), None);

        ZoneAnswer? answer = zone.Lookup("_http._tcp.web.default.svc.cluster.local", DnsType.SRV);

        AssertAnswers(answer, "_http._tcp.web.default.svc.cluster.local 5 SRV 0 100 80 web.default.svc.cluster.local");
        Assert.That(Additional(answer), Is.EqualTo(new[]
        {
            "web.default.svc.cluster.local 5 A 198.19.0.23",
            "web.default.svc.cluster.local 5 AAAA 2001:db8:1::17",
        }));
        AssertAnswers(
            zone.Lookup("_dns._udp.web.default.svc.cluster.local", DnsType.SRV),
            "_dns._udp.web.default.svc.cluster.local 5 SRV 0 100 53 web.default.svc.cluster.local");
    }

    [Test]
    public void An_SRV_name_exists_only_for_a_named_port_with_that_protocol()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", ports: [Http, Unnamed]), None);

        AssertNxDomain(zone.Lookup("_http._udp.web.default.svc.cluster.local", DnsType.SRV), "the wrong protocol");
        AssertNxDomain(zone.Lookup("_https._tcp.web.default.svc.cluster.local", DnsType.SRV), "an unknown port");
        AssertNxDomain(zone.Lookup("_http._sctp.web.default.svc.cluster.local", DnsType.SRV), "a protocol we do not know");
        AssertNxDomain(zone.Lookup("http._tcp.web.default.svc.cluster.local", DnsType.SRV), "a port label without its underscore");
        AssertNxDomain(zone.Lookup("_._tcp.web.default.svc.cluster.local", DnsType.SRV), "an empty port name (the unnamed port)");
        AssertNxDomain(zone.Lookup("x._http._tcp.web.default.svc.cluster.local", DnsType.SRV), "a name below an SRV name");
        AssertNoData(zone.Lookup("_http._tcp.web.default.svc.cluster.local", DnsType.A), "an SRV name asked for A");
    }

    [Test]
    public void The_protocol_label_of_a_service_exists_while_a_named_port_of_that_protocol_does()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", ports: [Http, new ServicePort(null, 5000, 5000, ServiceProtocol.Udp)]), None);

        AssertNoData(zone.Lookup("_tcp.web.default.svc.cluster.local", DnsType.SRV), "_tcp has _http below it");
        AssertNxDomain(zone.Lookup("_udp.web.default.svc.cluster.local", DnsType.SRV), "_udp has only an unnamed port");
    }

    [Test]
    public void SRV_on_the_service_name_lists_every_port_with_the_weight_shared_like_CoreDNS()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", ports: [Http, Metrics, Unnamed]), None);

        ZoneAnswer? answer = zone.Lookup("web.default.svc.cluster.local", DnsType.SRV);

        AssertAnswers(
            answer,
            "web.default.svc.cluster.local 5 SRV 0 33 80 web.default.svc.cluster.local",
            "web.default.svc.cluster.local 5 SRV 0 33 9090 web.default.svc.cluster.local",
            "web.default.svc.cluster.local 5 SRV 0 33 7000 web.default.svc.cluster.local");
        Assert.That(Additional(answer), Is.EqualTo(new[] { "web.default.svc.cluster.local 5 A 198.19.0.23" }));
    }

    [Test]
    public void A_headless_service_has_one_SRV_per_endpoint_targeting_its_dashed_name_on_the_target_port()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Headless("db", ports: [Http]), Addresses("198.18.1.5", "2001:db8:2::5"));

        ZoneAnswer? answer = zone.Lookup("_http._tcp.db.default.svc.cluster.local", DnsType.SRV);

        AssertAnswers(
            answer,
            "_http._tcp.db.default.svc.cluster.local 5 SRV 0 50 8080 198-18-1-5.db.default.svc.cluster.local",
            "_http._tcp.db.default.svc.cluster.local 5 SRV 0 50 8080 2001-db8-2--5.db.default.svc.cluster.local");
        Assert.That(Additional(answer), Is.EqualTo(new[]
        {
            "198-18-1-5.db.default.svc.cluster.local 5 A 198.18.1.5",
            "2001-db8-2--5.db.default.svc.cluster.local 5 AAAA 2001:db8:2::5",
        }));
    }

    [Test]
    public void A_hand_given_endpoint_port_is_the_SRV_port_of_a_headless_service()
    {
        ClusterZone zone = NewZone();
        ServiceSpec external = Headless("ext") with
        {
            Selector = null,
            Endpoints = [new ServiceEndpoint(System.Net.IPAddress.Parse("203.0.113.7"), 8443), new ServiceEndpoint(System.Net.IPAddress.Parse("203.0.113.8"))],
        };
        zone.SetService(external, Addresses("203.0.113.7", "203.0.113.8"));

        AssertAnswers(
            zone.Lookup("_http._tcp.ext.default.svc.cluster.local", DnsType.SRV),
            "_http._tcp.ext.default.svc.cluster.local 5 SRV 0 50 8443 203-0-113-7.ext.default.svc.cluster.local",
            "_http._tcp.ext.default.svc.cluster.local 5 SRV 0 50 8080 203-0-113-8.ext.default.svc.cluster.local");
    }

    [Test]
    public void The_weight_of_SRV_records_is_at_least_1_however_many_there_are()
    {
        ClusterZone zone = NewZone();
        string[] endpoints = Enumerable.Range(1, 150).Select(i => $"198.18.{i}.1").ToArray();
        zone.SetService(Headless("many"), Addresses(endpoints));

        ZoneAnswer? answer = zone.Lookup("_http._tcp.many.default.svc.cluster.local", DnsType.SRV);

        Assert.That(answer!.Answers, Has.Count.EqualTo(150));
        Assert.That(answer.Answers.Select(r => ((SrvData)r.Data).Weight), Is.All.EqualTo(1));
    }

    [Test]
    public void An_endpoint_name_of_a_headless_service_answers_its_address_and_exists_only_for_its_endpoints()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Headless("db"), Addresses("198.18.1.5", "2001:db8:2::5"));
        zone.SetService(Headless("cache"), Addresses("198.18.1.9"));

        AssertAnswers(zone.Lookup("198-18-1-5.db.default.svc.cluster.local", DnsType.A), "198-18-1-5.db.default.svc.cluster.local 5 A 198.18.1.5");
        AssertAnswers(zone.Lookup("2001-db8-2--5.db.default.svc.cluster.local", DnsType.AAAA), "2001-db8-2--5.db.default.svc.cluster.local 5 AAAA 2001:db8:2::5");
        AssertNoData(zone.Lookup("198-18-1-5.db.default.svc.cluster.local", DnsType.AAAA), "an IPv4 endpoint asked for AAAA");
        AssertNxDomain(zone.Lookup("198-18-1-9.db.default.svc.cluster.local", DnsType.A), "another service's endpoint");
        AssertNxDomain(zone.Lookup("198-18-1-6.db.default.svc.cluster.local", DnsType.A), "no endpoint");
        AssertNxDomain(zone.Lookup("x.198-18-1-5.db.default.svc.cluster.local", DnsType.A), "a name below an endpoint");
    }

    [Test]
    public void A_pod_name_answers_its_address_only_in_the_pods_namespace()
    {
        ClusterZone zone = NewZone();
        zone.SetPod(Pod("a", "default", "198.18.1.5"), null);

        AssertAnswers(zone.Lookup("198-18-1-5.default.pod.cluster.local", DnsType.A), "198-18-1-5.default.pod.cluster.local 5 A 198.18.1.5");
        AssertNoData(zone.Lookup("198-18-1-5.default.pod.cluster.local", DnsType.AAAA), "an IPv4 pod asked for AAAA");
        AssertNxDomain(zone.Lookup("198-18-1-5.other.pod.cluster.local", DnsType.A), "another namespace");
        AssertNxDomain(zone.Lookup("198-18-1-6.default.pod.cluster.local", DnsType.A), "an address no pod has");
        AssertNxDomain(zone.Lookup("x.198-18-1-5.default.pod.cluster.local", DnsType.A), "a name below a pod");
    }

    [Test]
    public void An_IPv6_pod_name_has_dashes_for_colons_in_any_of_the_addresses_text_forms()
    {
        ClusterZone zone = NewZone();
        zone.SetPod(Pod("a", "default", "198.18.1.5", "2001:db8:2::5"), null);

        AssertAnswers(zone.Lookup("2001-db8-2--5.default.pod.cluster.local", DnsType.AAAA), "2001-db8-2--5.default.pod.cluster.local 5 AAAA 2001:db8:2::5");
        AssertAnswers(
            zone.Lookup("2001-0db8-0002-0-0-0-0-5.default.pod.cluster.local", DnsType.AAAA),
            "2001-0db8-0002-0-0-0-0-5.default.pod.cluster.local 5 AAAA 2001:db8:2::5");
    }

    [Test]
    public void A_pod_label_that_is_not_a_canonical_address_does_not_exist()
    {
        ClusterZone zone = NewZone();
        zone.SetPod(Pod("a", "default", "198.18.1.5"), null);

        foreach (string label in new[] { "198-18-1-05", "198-18-1", "198-18-1-5-0", "a", "198-18-1-256", "-198-18-1-5", "198.18.1.5" })
        {
            AssertNxDomain(zone.Lookup($"{label}.default.pod.cluster.local", DnsType.A), label);
        }
    }

    [Test]
    public void A_ClusterIP_has_a_PTR_to_its_service()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", "shop", clusterIPv6: "2001:db8:1::17"), None);

        AssertAnswers(zone.Lookup("23.0.19.198.in-addr.arpa", DnsType.PTR), "23.0.19.198.in-addr.arpa 5 PTR web.shop.svc.cluster.local");
        string v6 = AddressLabels.ReverseName(System.Net.IPAddress.Parse("2001:db8:1::17"));
        AssertAnswers(zone.Lookup(v6, DnsType.PTR), $"{v6} 5 PTR web.shop.svc.cluster.local");
    }

    [Test]
    public void A_pod_address_has_a_PTR_to_its_pod_name()
    {
        ClusterZone zone = NewZone();
        zone.SetPod(Pod("a", "shop", "198.18.1.5", "2001:db8:2::5"), null);

        AssertAnswers(zone.Lookup("5.1.18.198.in-addr.arpa", DnsType.PTR), "5.1.18.198.in-addr.arpa 5 PTR 198-18-1-5.shop.pod.cluster.local");
        string v6 = AddressLabels.ReverseName(System.Net.IPAddress.Parse("2001:db8:2::5"));
        AssertAnswers(zone.Lookup(v6, DnsType.PTR), $"{v6} 5 PTR 2001-db8-2--5.shop.pod.cluster.local");
    }

    [Test]
    public void The_DNS_address_has_a_PTR_to_the_name_server()
    {
        ClusterZone zone = NewZone();

        AssertAnswers(zone.Lookup("10.0.19.198.in-addr.arpa", DnsType.PTR), "10.0.19.198.in-addr.arpa 5 PTR ns.dns.cluster.local");
    }

    [Test]
    public void An_address_without_a_record_in_our_networks_is_NXDOMAIN_with_its_reverse_zones_SOA()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web"), None);

        ZoneAnswer? v4 = zone.Lookup("99.0.19.198.in-addr.arpa", DnsType.PTR);
        Assert.That(v4!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(v4.Authoritative, Is.True);
        Assert.That(Authority(v4), Is.EqualTo(new[] { "19.198.in-addr.arpa 5 SOA ns.dns.cluster.local hostmaster.cluster.local 1796065200 7200 1800 86400 5" }));

        ZoneAnswer? v6 = zone.Lookup(AddressLabels.ReverseName(System.Net.IPAddress.Parse("2001:db8:2::99")), DnsType.PTR);
        Assert.That(v6!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(v6.Authority.Single().Name, Is.EqualTo("0.0.0.0.2.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"), "the /64's zone");
    }

    [Test]
    public void An_address_with_a_PTR_asked_for_another_type_is_NODATA()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web"), None);

        AssertNoData(zone.Lookup("23.0.19.198.in-addr.arpa", DnsType.A), "PTR name, A", "19.198.in-addr.arpa 5 SOA ns.dns.cluster.local hostmaster.cluster.local 1796065200 7200 1800 86400 5");
    }

    [Test]
    public void A_reverse_name_outside_our_networks_is_forwarded()
    {
        ClusterZone zone = NewZone();

        foreach (string name in new[]
        {
            "7.113.0.203.in-addr.arpa", "1.0.20.198.in-addr.arpa", "198.in-addr.arpa", "in-addr.arpa", "arpa",
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.9.b.d.0.1.0.0.2.ip6.arpa", "ip6.arpa", "xin-addr.arpa",
        })
        {
            Assert.That(zone.Lookup(name, DnsType.PTR), Is.Null, name);
        }
    }

    [Test]
    public void A_reverse_zones_apex_answers_SOA_and_NS_and_the_names_between_it_and_an_address_have_no_data()
    {
        ClusterZone zone = NewZone();

        AssertAnswers(
            zone.Lookup("19.198.in-addr.arpa", DnsType.SOA),
            "19.198.in-addr.arpa 5 SOA ns.dns.cluster.local hostmaster.cluster.local 1796065200 7200 1800 86400 5");
        ZoneAnswer? ns = zone.Lookup("18.198.in-addr.arpa", DnsType.NS);
        AssertAnswers(ns, "18.198.in-addr.arpa 5 NS ns.dns.cluster.local");
        Assert.That(Additional(ns), Is.EqualTo(new[] { "ns.dns.cluster.local 5 A 198.19.0.10" }));
        AssertNoData(zone.Lookup("0.19.198.in-addr.arpa", DnsType.PTR), "between apex and address", "19.198.in-addr.arpa 5 SOA ns.dns.cluster.local hostmaster.cluster.local 1796065200 7200 1800 86400 5");
        AssertNoData(zone.Lookup("19.198.in-addr.arpa", DnsType.PTR), "the apex has no PTR", "19.198.in-addr.arpa 5 SOA ns.dns.cluster.local hostmaster.cluster.local 1796065200 7200 1800 86400 5");
    }

    [Test]
    public void A_network_not_on_an_octet_boundary_has_a_reverse_zone_for_each_octet_value_it_spans()
    {
        var zone = new ClusterZone(Domain, DnsAddress, [System.Net.IPNetwork.Parse("100.64.0.0/10"), System.Net.IPNetwork.Parse("2001:db8:1::/50")], time: new ManualClock());

        Assert.That(zone.Lookup("1.0.64.100.in-addr.arpa", DnsType.PTR)!.Authority.Single().Name, Is.EqualTo("64.100.in-addr.arpa"));
        Assert.That(zone.Lookup("1.0.127.100.in-addr.arpa", DnsType.PTR)!.Authority.Single().Name, Is.EqualTo("127.100.in-addr.arpa"));
        Assert.That(zone.Lookup("1.0.128.100.in-addr.arpa", DnsType.PTR), Is.Null, "100.128/16 is outside /10");
        Assert.That(zone.Lookup("1.0.63.100.in-addr.arpa", DnsType.PTR), Is.Null, "100.63/16 is outside /10");
        Assert.That(zone.Lookup("100.in-addr.arpa", DnsType.SOA), Is.Null, "above the zones");

        // /50 rounds out to 13 nibbles: 2001:db8:1:0000–2001:db8:1:3fff are four zones (0–3 in the 13th nibble).
        string inside = AddressLabels.ReverseName(System.Net.IPAddress.Parse("2001:db8:1:3fff::1"));
        string outside = AddressLabels.ReverseName(System.Net.IPAddress.Parse("2001:db8:1:4000::1"));
        Assert.That(zone.Lookup(inside, DnsType.PTR)!.Authority.Single().Name, Is.EqualTo("3.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"));
        Assert.That(zone.Lookup(outside, DnsType.PTR), Is.Null);
    }

    [Test]
    public void A_malformed_reverse_name_inside_our_zones_is_NXDOMAIN()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web"), None);

        foreach (string name in new[] { "023.0.19.198.in-addr.arpa", "x.0.19.198.in-addr.arpa", "256.0.19.198.in-addr.arpa", "1.23.0.19.198.in-addr.arpa", ".0.19.198.in-addr.arpa" })
        {
            ZoneAnswer? answer = zone.Lookup(name, DnsType.PTR);
            Assert.That(answer, Is.Not.Null, name);
            Assert.That(answer!.Code, Is.EqualTo(DnsResponseCode.NameError), name);
            Assert.That(answer.Authority.Single().Name, Is.EqualTo("19.198.in-addr.arpa"), name);
        }

        string v6 = AddressLabels.ReverseName(System.Net.IPAddress.Parse("2001:db8:2::5"));
        Assert.That(zone.Lookup("A" + v6[1..], DnsType.PTR)!.Code, Is.EqualTo(DnsResponseCode.NameError), "nibbles are single lower-case hex digits");
        Assert.That(zone.Lookup("0." + v6, DnsType.PTR)!.Code, Is.EqualTo(DnsResponseCode.NameError), "33 nibbles");
    }

    [Test]
    public void The_dns_version_TXT_is_the_specifications_version()
    {
        ClusterZone zone = NewZone();

        AssertAnswers(zone.Lookup("dns-version.cluster.local", DnsType.TXT), "dns-version.cluster.local 5 TXT \"1.1.0\"");
        AssertNoData(zone.Lookup("dns-version.cluster.local", DnsType.A), "dns-version A");
    }

    [Test]
    public void The_apex_answers_SOA_with_CoreDNS_values_and_NS_with_the_name_servers_address_in_the_additional_section()
    {
        ClusterZone zone = NewZone();

        AssertAnswers(zone.Lookup("cluster.local", DnsType.SOA), Soa);
        ZoneAnswer? ns = zone.Lookup("cluster.local", DnsType.NS);
        AssertAnswers(ns, "cluster.local 5 NS ns.dns.cluster.local");
        Assert.That(Additional(ns), Is.EqualTo(new[] { "ns.dns.cluster.local 5 A 198.19.0.10" }));
        AssertNoData(zone.Lookup("cluster.local", DnsType.A), "apex A");
    }

    [Test]
    public void The_name_server_answers_A_with_the_DNS_address()
    {
        ClusterZone zone = NewZone();

        AssertAnswers(zone.Lookup("ns.dns.cluster.local", DnsType.A), "ns.dns.cluster.local 5 A 198.19.0.10");
        AssertNoData(zone.Lookup("ns.dns.cluster.local", DnsType.AAAA), "ns AAAA");
        AssertNxDomain(zone.Lookup("x.dns.cluster.local", DnsType.A), "another name under dns");
        AssertNxDomain(zone.Lookup("x.ns.dns.cluster.local", DnsType.A), "a name under ns.dns");
    }

    [Test]
    public void An_IPv6_DNS_address_is_the_name_servers_AAAA()
    {
        var zone = new ClusterZone(Domain, System.Net.IPAddress.Parse("2001:db8:1::a"), Networks, time: new ManualClock());

        AssertAnswers(zone.Lookup("ns.dns.cluster.local", DnsType.AAAA), "ns.dns.cluster.local 5 AAAA 2001:db8:1::a");
        AssertNoData(zone.Lookup("ns.dns.cluster.local", DnsType.A), "ns A");
    }

    [Test]
    public void Empty_non_terminals_have_no_data()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", "shop"), None);
        zone.SetPod(Pod("a", "apps", "198.18.1.5"), null);

        foreach (string name in new[] { "svc.cluster.local", "pod.cluster.local", "dns.cluster.local", "shop.svc.cluster.local", "apps.pod.cluster.local" })
        {
            AssertNoData(zone.Lookup(name, DnsType.A), name);
        }
    }

    [Test]
    public void A_namespace_without_services_or_pods_does_not_exist()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", "shop"), None);
        zone.SetPod(Pod("a", "apps", "198.18.1.5"), null);

        AssertNxDomain(zone.Lookup("apps.svc.cluster.local", DnsType.A), "apps has only pods");
        AssertNxDomain(zone.Lookup("shop.pod.cluster.local", DnsType.A), "shop has only services");
    }

    [Test]
    public void Names_that_do_not_exist_in_the_zone_are_authoritative_NXDOMAIN_with_the_SOA()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web"), None);

        foreach (string name in new[]
        {
            "nothing.cluster.local", "web.cluster.local", "web.default.cluster.local", "other.default.svc.cluster.local",
            "web.default.svc.cluster.local.default.svc.cluster.local", "www.example.test.default.svc.cluster.local",
            "www.example.test.svc.cluster.local", "www.example.test.cluster.local", "a.b.dns-version.cluster.local",
            "x.dns-version.cluster.local", ".svc.cluster.local", "web..svc.cluster.local",
        })
        {
            AssertNxDomain(zone.Lookup(name, DnsType.A), name);
        }
    }

    [Test]
    public void An_existing_name_asked_for_a_type_it_lacks_is_NODATA_with_the_SOA_and_never_a_CNAME()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web"), None);

        AssertNoData(zone.Lookup("web.default.svc.cluster.local", DnsType.TXT), "TXT");
        AssertNoData(zone.Lookup("web.default.svc.cluster.local", DnsType.CNAME), "CNAME");
        AssertNoData(zone.Lookup("web.default.svc.cluster.local", (DnsType)15), "MX");
        AssertNoData(zone.Lookup("web.default.svc.cluster.local", DnsType.SOA), "SOA below the apex");
    }

    [Test]
    public void ANY_answers_every_record_the_name_has()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", clusterIPv6: "2001:db8:1::17"), None);

        ZoneAnswer? service = zone.Lookup("web.default.svc.cluster.local", DnsType.ANY);
        AssertAnswers(
            service,
            "web.default.svc.cluster.local 5 A 198.19.0.23",
            "web.default.svc.cluster.local 5 AAAA 2001:db8:1::17",
            "web.default.svc.cluster.local 5 SRV 0 100 80 web.default.svc.cluster.local");
        AssertAnswers(zone.Lookup("cluster.local", DnsType.ANY), Soa, "cluster.local 5 NS ns.dns.cluster.local");
        AssertAnswers(zone.Lookup("dns-version.cluster.local", DnsType.ANY), "dns-version.cluster.local 5 TXT \"1.1.0\"");
        AssertAnswers(zone.Lookup("23.0.19.198.in-addr.arpa", DnsType.ANY), "23.0.19.198.in-addr.arpa 5 PTR web.default.svc.cluster.local");
        AssertNoData(zone.Lookup("svc.cluster.local", DnsType.ANY), "an empty non-terminal");
    }

    [Test]
    public void Names_outside_the_zone_are_forwarded()
    {
        ClusterZone zone = NewZone();

        foreach (string name in new[] { "www.example.test", "", "local", "xcluster.local", "cluster.local.example.test", "svc" })
        {
            Assert.That(zone.Lookup(name, DnsType.A), Is.Null, name);
        }
    }

    [Test]
    public void Every_record_has_the_zones_TTL_and_the_SOA_minimum_is_it()
    {
        ClusterZone zone = NewZone(ttl: 30);
        zone.SetService(Service("web"), None);

        Assert.That(zone.Lookup("web.default.svc.cluster.local", DnsType.A)!.Answers.Single().Ttl, Is.EqualTo(30));
        ZoneAnswer? nx = zone.Lookup("nothing.cluster.local", DnsType.A);
        Assert.That(nx!.Authority.Single().Ttl, Is.EqualTo(30));
        Assert.That(((SoaData)nx.Authority.Single().Data).Minimum, Is.EqualTo(30));
    }

    [Test]
    public void The_zone_refuses_a_domain_with_upper_case_or_a_trailing_dot()
    {
        Assert.That(() => new ClusterZone("Cluster.local", DnsAddress, Networks), Throws.ArgumentException);
        Assert.That(() => new ClusterZone("cluster.local.", DnsAddress, Networks), Throws.ArgumentException);
        Assert.That(() => new ClusterZone("", DnsAddress, Networks), Throws.ArgumentException);
    }
}
