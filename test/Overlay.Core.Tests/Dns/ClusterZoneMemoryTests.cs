using System.Net;
using Overlay.Core.Dns;
using Overlay.Core.Services;
using static Overlay.Core.Tests.Dns.ZoneFixtures;

namespace Overlay.Core.Tests.Dns;

/// <summary>
/// The issue's budget: DNS may add at most 5 MB with 10,000 services of 3 endpoints each. The services and pods are
/// built first, as the catalog holds them anyway; what is measured is what the zone adds on top of them.
/// </summary>
[NonParallelizable]
public class ClusterZoneMemoryTests
{
    private const int Services = 10_000;

    private const long Budget = 5 * 1024 * 1024;

    [TestCase(false)]
    [TestCase(true)]
    public void Ten_thousand_services_with_three_endpoints_each_add_less_than_5_MB(bool headless)
    {
        (List<ServiceSpec> services, List<PodRecord> pods) = Catalog(headless);

        long before = GC.GetTotalMemory(forceFullCollection: true);
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        ClusterZone zone = Build(services, pods);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        long retained = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(zone);

        TestContext.Out.WriteLine($"{(headless ? "headless" : "ClusterIP")} services: {Services}, pods: {pods.Count}; the zone retains {retained / 1024} KiB, allocated {allocated / 1024} KiB while built");
        Assert.That(zone.ServiceCount, Is.EqualTo(Services));
        Assert.That(zone.PodCount, Is.EqualTo(3 * Services));
        Assert.That(retained, Is.LessThan(Budget));
    }

    [Test]
    public void A_lookup_of_a_service_allocates_only_its_answer()
    {
        (List<ServiceSpec> services, List<PodRecord> pods) = Catalog(headless: false);
        ClusterZone zone = Build(services, pods);
        zone.Lookup("s1.ns1.svc.cluster.local", DnsType.A);
        zone.Lookup("nothing.ns1.svc.cluster.local", DnsType.A);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            zone.Lookup("s1.ns1.svc.cluster.local", DnsType.A);
        }

        long perHit = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000;
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            zone.Lookup("nothing.ns1.svc.cluster.local", DnsType.A);
        }

        long perMiss = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000;

        TestContext.Out.WriteLine($"bytes allocated per lookup: an A answer {perHit}, an NXDOMAIN {perMiss}");
        Assert.That(perMiss, Is.Zero, "NXDOMAIN is a shared answer");
        Assert.That(perHit, Is.LessThan(400));
    }

    private static ClusterZone Build(List<ServiceSpec> services, List<PodRecord> pods)
    {
        var zone = new ClusterZone(Domain, DnsAddress, Networks, time: new ManualClock());
        foreach (PodRecord pod in pods)
        {
            zone.SetPod(pod, null);
        }

        for (int i = 0; i < services.Count; i++)
        {
            zone.SetService(services[i], pods.Skip(3 * i).Take(3).SelectMany(p => p.Addresses).ToList());
        }

        return zone;
    }

    private static (List<ServiceSpec> Services, List<PodRecord> Pods) Catalog(bool headless)
    {
        var services = new List<ServiceSpec>(Services);
        var pods = new List<PodRecord>(3 * Services);
        for (int i = 0; i < Services; i++)
        {
            string ns = $"ns{i % 50}";
            services.Add(Service(
                $"s{i}",
                ns,
                headless ? null : $"198.19.{i / 250}.{(i % 250) + 1}",
                null,
                Http,
                Metrics));
            for (int e = 0; e < 3; e++)
            {
                int n = (3 * i) + e;
                pods.Add(Pod($"s{i}-{e}", ns, $"198.18.{n / 250}.{(n % 250) + 1}"));
            }
        }

        return (services, pods);
    }
}
