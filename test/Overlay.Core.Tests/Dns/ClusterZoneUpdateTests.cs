using Overlay.Core.Dns;
using Overlay.Core.Services;
using static Overlay.Core.Tests.Dns.ZoneFixtures;

namespace Overlay.Core.Tests.Dns;

public class ClusterZoneUpdateTests
{
    [Test]
    public void A_changed_service_answers_with_its_new_ClusterIP_and_ports_and_its_old_address_loses_its_PTR()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", ports: [Http]), None);

        zone.SetService(Service("web", clusterIP: "198.19.0.42", ports: [Metrics]), None);

        Assert.That(Answers(zone.Lookup("web.default.svc.cluster.local", DnsType.A)), Is.EqualTo(new[] { "web.default.svc.cluster.local 5 A 198.19.0.42" }));
        Assert.That(zone.Lookup("_http._tcp.web.default.svc.cluster.local", DnsType.SRV)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("_metrics._tcp.web.default.svc.cluster.local", DnsType.SRV)!.Answers, Has.Count.EqualTo(1));
        Assert.That(zone.Lookup("23.0.19.198.in-addr.arpa", DnsType.PTR)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(Answers(zone.Lookup("42.0.19.198.in-addr.arpa", DnsType.PTR)), Is.EqualTo(new[] { "42.0.19.198.in-addr.arpa 5 PTR web.default.svc.cluster.local" }));
        Assert.That(zone.ServiceCount, Is.EqualTo(1));
    }

    [Test]
    public void A_removed_service_is_NXDOMAIN_and_takes_its_PTR_and_its_empty_namespace_with_it()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web", "shop", clusterIPv6: "2001:db8:1::17"), None);
        zone.SetService(Service("api", "shop", clusterIP: "198.19.0.24"), None);

        Assert.That(zone.RemoveService("shop", "web"), Is.True);

        Assert.That(zone.Lookup("web.shop.svc.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("23.0.19.198.in-addr.arpa", DnsType.PTR)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup(AddressLabels.ReverseName(System.Net.IPAddress.Parse("2001:db8:1::17")), DnsType.PTR)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("shop.svc.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NoError), "api still lives in shop");

        Assert.That(zone.RemoveService("shop", "api"), Is.True);
        Assert.That(zone.Lookup("shop.svc.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NameError), "shop has no services left");
        Assert.That(zone.RemoveService("shop", "api"), Is.False, "already gone");
        Assert.That(zone.ServiceCount, Is.Zero);
    }

    [Test]
    public void Removing_a_service_keeps_the_PTR_of_its_address_when_another_service_holds_it_now()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("old"), None);
        zone.SetService(Service("new"), None);

        zone.RemoveService("default", "old");

        Assert.That(Answers(zone.Lookup("23.0.19.198.in-addr.arpa", DnsType.PTR)), Is.EqualTo(new[] { "23.0.19.198.in-addr.arpa 5 PTR new.default.svc.cluster.local" }));
    }

    [Test]
    public void A_service_that_becomes_dual_stack_or_loses_its_IPv6_follows()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Service("web"), None);
        zone.SetService(Service("web", clusterIPv6: "2001:db8:1::17"), None);
        Assert.That(zone.Lookup("web.default.svc.cluster.local", DnsType.AAAA)!.Answers, Has.Count.EqualTo(1));

        zone.SetService(Service("web"), None);

        Assert.That(zone.Lookup("web.default.svc.cluster.local", DnsType.AAAA)!.Answers, Is.Empty);
        Assert.That(zone.Lookup(AddressLabels.ReverseName(System.Net.IPAddress.Parse("2001:db8:1::17")), DnsType.PTR)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("23.0.19.198.in-addr.arpa", DnsType.PTR)!.Answers, Has.Count.EqualTo(1), "the IPv4 ClusterIP keeps its PTR");
    }

    [Test]
    public void A_headless_services_addresses_and_endpoint_names_follow_its_endpoints()
    {
        ClusterZone zone = NewZone();
        zone.SetService(Headless("db"), Addresses("198.18.1.5", "198.18.1.6"));

        zone.SetService(Headless("db"), Addresses("198.18.1.6", "198.18.1.7"));

        Assert.That(Answers(zone.Lookup("db.default.svc.cluster.local", DnsType.A)), Is.EqualTo(new[]
        {
            "db.default.svc.cluster.local 5 A 198.18.1.6",
            "db.default.svc.cluster.local 5 A 198.18.1.7",
        }));
        Assert.That(zone.Lookup("198-18-1-5.db.default.svc.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("198-18-1-7.db.default.svc.cluster.local", DnsType.A)!.Answers, Has.Count.EqualTo(1));
        Assert.That(zone.Lookup("_http._tcp.db.default.svc.cluster.local", DnsType.SRV)!.Answers.Select(r => ((SrvData)r.Data).Target), Is.EqualTo(new[]
        {
            "198-18-1-6.db.default.svc.cluster.local",
            "198-18-1-7.db.default.svc.cluster.local",
        }));

        zone.SetService(Headless("db"), None);
        Assert.That(zone.Lookup("db.default.svc.cluster.local", DnsType.A)!.Answers, Is.Empty, "no endpoints left: NODATA");
    }

    [Test]
    public void A_headless_service_counts_an_endpoint_given_twice_once()
    {
        ClusterZone zone = NewZone();

        zone.SetService(Headless("db"), Addresses("198.18.1.5", "198.18.1.5"));

        Assert.That(zone.Lookup("db.default.svc.cluster.local", DnsType.A)!.Answers, Has.Count.EqualTo(1));
    }

    [Test]
    public void A_pod_that_leaves_loses_its_name_its_PTR_and_its_empty_namespace()
    {
        ClusterZone zone = NewZone();
        PodRecord pod = Pod("a", "apps", "198.18.1.5", "2001:db8:2::5");
        zone.SetPod(pod, null);

        zone.RemovePod(pod);

        Assert.That(zone.Lookup("198-18-1-5.apps.pod.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("2001-db8-2--5.apps.pod.cluster.local", DnsType.AAAA)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("5.1.18.198.in-addr.arpa", DnsType.PTR)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("apps.pod.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.PodCount, Is.Zero);
    }

    [Test]
    public void A_pod_that_changes_its_address_answers_only_at_the_new_one()
    {
        ClusterZone zone = NewZone();
        PodRecord before = Pod("a", "apps", "198.18.1.5");
        zone.SetPod(before, null);

        zone.SetPod(Pod("a", "apps", "198.18.1.9"), before);

        Assert.That(zone.Lookup("198-18-1-5.apps.pod.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("198-18-1-9.apps.pod.cluster.local", DnsType.A)!.Answers, Has.Count.EqualTo(1));
        Assert.That(zone.Lookup("5.1.18.198.in-addr.arpa", DnsType.PTR)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.PodCount, Is.EqualTo(1));
    }

    [Test]
    public void Two_pods_sharing_an_address_each_have_a_PTR_and_the_one_that_stays_keeps_its_name()
    {
        ClusterZone zone = NewZone();
        PodRecord a = Pod("a", "apps", "198.18.1.5");
        zone.SetPod(a, null);
        zone.SetPod(Pod("b", "shop", "198.18.1.5"), null);

        Assert.That(Answers(zone.Lookup("5.1.18.198.in-addr.arpa", DnsType.PTR)), Is.EqualTo(new[]
        {
            "5.1.18.198.in-addr.arpa 5 PTR 198-18-1-5.apps.pod.cluster.local",
            "5.1.18.198.in-addr.arpa 5 PTR 198-18-1-5.shop.pod.cluster.local",
        }));

        zone.RemovePod(a);

        Assert.That(zone.Lookup("198-18-1-5.apps.pod.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NameError));
        Assert.That(zone.Lookup("198-18-1-5.shop.pod.cluster.local", DnsType.A)!.Answers, Has.Count.EqualTo(1));
    }

    [Test]
    public void A_pod_that_keeps_an_address_while_gaining_another_answers_at_both()
    {
        ClusterZone zone = NewZone();
        PodRecord before = Pod("a", "apps", "198.18.1.5");
        zone.SetPod(before, null);

        zone.SetPod(Pod("a", "apps", "198.18.1.5", "2001:db8:2::5"), before);

        Assert.That(zone.Lookup("198-18-1-5.apps.pod.cluster.local", DnsType.A)!.Answers, Has.Count.EqualTo(1));
        Assert.That(zone.Lookup("2001-db8-2--5.apps.pod.cluster.local", DnsType.AAAA)!.Answers, Has.Count.EqualTo(1));
        Assert.That(zone.Lookup("apps.pod.cluster.local", DnsType.A)!.Code, Is.EqualTo(DnsResponseCode.NoError));
        Assert.That(zone.PodCount, Is.EqualTo(1));
    }

    [Test]
    public void The_SOA_serial_is_the_Unix_time_of_the_last_change()
    {
        var clock = new ManualClock();
        ClusterZone zone = NewZone(clock);
        uint created = zone.Serial;

        clock.Now = clock.Now.AddSeconds(90);
        Assert.That(zone.Serial, Is.EqualTo(created), "time alone changes nothing");
        zone.SetService(Service("web"), None);

        Assert.That(created, Is.EqualTo(1796065200));
        Assert.That(zone.Serial, Is.EqualTo(created + 90));
        Assert.That(((SoaData)zone.Lookup("nothing.cluster.local", DnsType.A)!.Authority.Single().Data).Serial, Is.EqualTo(created + 90));
        Assert.That(((SoaData)zone.Lookup("cluster.local", DnsType.SOA)!.Answers.Single().Data).Serial, Is.EqualTo(created + 90));
    }

    [Test]
    public void A_change_costs_only_the_service_it_changes()
    {
        ClusterZone zone = NewZone();
        for (int i = 0; i < 2000; i++)
        {
            zone.SetService(Service($"s{i}", clusterIP: $"198.19.{i / 250}.{(i % 250) + 1}"), None);
        }

        // Warm the path, then measure what one more update allocates: it must not grow with the 2000 other services.
        ServiceSpec web = Service("web", clusterIP: "198.19.100.1");
        zone.SetService(web, None);
        long before = GC.GetAllocatedBytesForCurrentThread();
        zone.SetService(web, None);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(allocated, Is.LessThan(2_000), "bytes allocated by one update");
    }
}
