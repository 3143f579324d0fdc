using System.Diagnostics;
using System.Net;
using Overlay.Core.Dns;
using Overlay.Core.Services;
using static Overlay.Core.Tests.Dns.ZoneFixtures;

namespace Overlay.Core.Tests.Dns;

public class ClusterZoneConcurrencyTests
{
    private static readonly string[] FirstEndpoints = ["198.18.1.1", "198.18.1.2", "198.18.1.3"];

    private static readonly string[] SecondEndpoints = ["198.18.2.1", "198.18.2.2"];

    [Test]
    public void Readers_see_every_service_whole_while_the_writer_replaces_and_removes_it()
    {
        ClusterZone zone = NewZone();
        ServiceSpec withClusterIP = Service("web", ports: [Http]);
        ServiceSpec headless = Headless("web", ports: [Http]);
        ServiceSpec headlessTwoPorts = Headless("web", ports: [Http, Metrics]);
        IReadOnlyList<IPAddress> first = Addresses(FirstEndpoints);
        IReadOnlyList<IPAddress> second = Addresses(SecondEndpoints);

        using var stop = new CancellationTokenSource();
        var seen = new HashSet<string>[2];
        var problems = new List<string>();
        var readers = Enumerable.Range(0, seen.Length).Select(r => new Thread(() =>
        {
            var states = seen[r] = [];
            long reads = 0;
            while (!stop.IsCancellationRequested || reads < 2000)
            {
                string? problem = CheckAddresses(zone.Lookup("web.default.svc.cluster.local", DnsType.A), states)
                    ?? CheckSrv(zone.Lookup("_http._tcp.web.default.svc.cluster.local", DnsType.SRV), states)
                    ?? CheckSrv(zone.Lookup("web.default.svc.cluster.local", DnsType.SRV), states);
                reads++;
                if (problem is not null)
                {
                    lock (problems)
                    {
                        problems.Add(problem);
                    }

                    return;
                }
            }
        })).ToList();
        readers.ForEach(t => t.Start());

        var clock = Stopwatch.StartNew();
        for (int i = 0; clock.ElapsedMilliseconds < 500 || readers.Any(t => t.IsAlive && i < 1_000_000); i++)
        {
            switch (i % 4)
            {
                case 0: zone.SetService(withClusterIP, first); break;
                case 1: zone.SetService(headless, first); break;
                case 2: zone.SetService(headlessTwoPorts, second); break;
                default: zone.RemoveService("default", "web"); break;
            }

            if (clock.ElapsedMilliseconds >= 500)
            {
                stop.Cancel();
            }
        }

        stop.Cancel();
        readers.ForEach(t => t.Join());

        Assert.That(problems, Is.Empty);
        Assert.That(seen.SelectMany(s => s).Distinct().Count(), Is.GreaterThanOrEqualTo(2), "the readers saw the service change");
    }

    /// <summary>The A answer is one state's addresses exactly: the ClusterIP, one endpoint set, or none (removed).</summary>
    private static string? CheckAddresses(ZoneAnswer? answer, HashSet<string> states)
    {
        if (answer is null)
        {
            return "A: forwarded";
        }

        if (answer.Code == DnsResponseCode.NameError)
        {
            states.Add("removed");
            return answer.Authority.Count == 1 ? null : "NXDOMAIN without its SOA";
        }

        string addresses = string.Join(",", answer.Answers.Select(r => ((AddressData)r.Data).Address));
        string[] valid = ["198.19.0.23", string.Join(",", FirstEndpoints), string.Join(",", SecondEndpoints)];
        states.Add(addresses);
        return valid.Contains(addresses) && answer.Answers.All(r => r.Name == "web.default.svc.cluster.local") ? null : $"A: a mixed answer {addresses}";
    }

    /// <summary>The SRV answer's targets, weights and additional addresses all come from one state.</summary>
    private static string? CheckSrv(ZoneAnswer? answer, HashSet<string> states)
    {
        if (answer is null)
        {
            return "SRV: forwarded";
        }

        if (answer.Code == DnsResponseCode.NameError)
        {
            return answer.Authority.Count == 1 ? null : "NXDOMAIN without its SOA";
        }

        var srv = answer.Answers.Select(r => (SrvData)r.Data).ToList();
        string targets = string.Join(",", srv.Select(s => s.Target).Distinct());
        string additional = string.Join(",", answer.Additional.Select(r => r.Name).Distinct());
        string addresses = string.Join(",", answer.Additional.Select(r => ((AddressData)r.Data).Address));
        states.Add("srv:" + srv.Count);
        bool consistent = srv.Count switch
        {
            1 => targets == "web.default.svc.cluster.local" && addresses == "198.19.0.23", // the ClusterIP, one port
            3 => addresses == string.Join(",", FirstEndpoints) && srv.All(s => s.Port == 8080), // headless, first endpoints, _http
            2 => addresses == string.Join(",", SecondEndpoints) && srv.All(s => s.Port == 8080), // headless, second, _http only
            4 => addresses == string.Join(",", SecondEndpoints) && srv.Count(s => s.Port == 9091) == 2, // second, both ports
            _ => false,
        };

        return consistent && targets == additional && srv.All(s => s.Weight == 100 / srv.Count)
            ? null
            : $"SRV: a mixed answer of {srv.Count} records, targets {targets}, additional {addresses}";
    }
}
