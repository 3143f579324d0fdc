using System.Net;
using Overlay.Core.Dns;
using Overlay.Core.Services;
using Overlay.Daemon.Services;
using Overlay.Leases.Watching;

namespace Overlay.Daemon.Tests.Services;

/// <summary>The registry as one node sees it, turned into the frontends of the service rules. Pure: no etcd, no nft.</summary>
public class ServiceCatalogTests
{
    private const string Prefix = "/coreos.com/network";
    private static readonly IPNetwork ServiceNetwork = IPNetwork.Parse("198.19.0.0/16");
    private static readonly IReadOnlyList<IPNetwork> PodNetworks = [IPNetwork.Parse("198.18.0.0/16")];

    private ServiceCatalog catalog = null!;

    [SetUp]
    public void NewCatalog() => catalog = new ServiceCatalog(Prefix);

    [Test]
    public void A_selector_service_gets_the_ipv4_addresses_of_the_matching_pods_of_its_namespace_at_its_target_port()
    {
        Put(Web());
        Put(Pod("default", "web-1", "198.18.1.5", ("app", "web")));
        Put(Pod("default", "web-2", "198.18.2.5", ("app", "web"), ("tier", "front")));
        Put(Pod("default", "db-1", "198.18.3.5", ("app", "db")));
        Put(Pod("other", "web-9", "198.18.4.5", ("app", "web")));

        ServiceRulesInput desired = catalog.Desired(ServiceNetwork, PodNetworks);

        Assert.That(desired.Frontends[new Frontend(IPAddress.Parse("198.19.0.20"), ServiceProtocol.Tcp, 80)], Is.EqualTo(new[]
        {
            new Backend(IPAddress.Parse("198.18.1.5"), 8080),
            new Backend(IPAddress.Parse("198.18.2.5"), 8080),
        }));
        Assert.That(desired.ClusterIPs, Is.EquivalentTo(new[] { IPAddress.Parse("198.19.0.20") }));
    }

    [Test]
    public void A_pod_that_loses_its_label_or_goes_away_leaves_the_service_and_one_that_gains_it_joins()
    {
        Put(Web());
        Put(Pod("default", "web-1", "198.18.1.5", ("app", "web")));
        Put(Pod("default", "web-2", "198.18.2.5", ("app", "web")));
        Assert.That(BackendsOfWeb(), Has.Count.EqualTo(2));

        Put(Pod("default", "web-1", "198.18.1.5", ("app", "other")));
        Assert.That(BackendsOfWeb().Select(b => b.Address.ToString()), Is.EqualTo(new[] { "198.18.2.5" }));

        Delete(RegistryKeys.Pod(Prefix, "default", "web-2"));
        Assert.That(BackendsOfWeb(), Is.Empty, "no endpoints: the frontend stays, with no backend (refused)");

        Put(Pod("default", "web-3", "198.18.3.5", ("app", "web")));
        Assert.That(BackendsOfWeb().Select(b => b.Address.ToString()), Is.EqualTo(new[] { "198.18.3.5" }));
    }

    [Test]
    public void Explicit_endpoints_and_several_ports_give_one_frontend_per_port_and_protocol()
    {
        Put(new ServiceSpec
        {
            Namespace = "default",
            Name = "dns",
            ClusterIP = IPAddress.Parse("198.19.0.10"),
            Ports = [new ServicePort("dns", 53, 5353, ServiceProtocol.Udp), new ServicePort("dns-tcp", 53, 5353, ServiceProtocol.Tcp)],
            Endpoints = [new ServiceEndpoint(IPAddress.Parse("198.18.9.9")), new ServiceEndpoint(IPAddress.Parse("2001:db8::9"))],
        });

        ServiceRulesInput desired = catalog.Desired(ServiceNetwork, PodNetworks);

        Assert.That(desired.Frontends.Keys, Is.EquivalentTo(new[]
        {
            new Frontend(IPAddress.Parse("198.19.0.10"), ServiceProtocol.Udp, 53),
            new Frontend(IPAddress.Parse("198.19.0.10"), ServiceProtocol.Tcp, 53),
        }));
        Assert.That(desired.Frontends.Values.SelectMany(b => b), Is.All.EqualTo(new Backend(IPAddress.Parse("198.18.9.9"), 5353)), "IPv6 endpoints are not for the IPv4 ClusterIP");
    }

    [Test]
    public void A_headless_service_and_a_removed_service_have_no_frontend()
    {
        Put(Web() with { ClusterIP = null });
        Put(Web() with { Name = "gone", ClusterIP = IPAddress.Parse("198.19.0.21") });
        Delete(RegistryKeys.Service(Prefix, "default", "gone"));

        ServiceRulesInput desired = catalog.Desired(ServiceNetwork, PodNetworks);

        Assert.That(desired.Frontends, Is.Empty);
        Assert.That(desired.ClusterIPs, Is.Empty);
    }

    [Test]
    public void A_garbage_value_is_skipped_with_its_key_and_the_last_good_value_stays()
    {
        Put(Web());
        IReadOnlyList<SkippedRegistryEntry> skipped = catalog.Apply(Update(new KeyChange(RegistryKeys.Service(Prefix, "default", "web"), "{not json")));
        IReadOnlyList<SkippedRegistryEntry> misplaced = catalog.Apply(Update(new KeyChange(RegistryKeys.Service(Prefix, "default", "elsewhere"), ServiceCodec.Serialize(Web()))));
        IReadOnlyList<SkippedRegistryEntry> badKey = catalog.Apply(Update(new KeyChange(Prefix + "/services/too/many/parts", ServiceCodec.Serialize(Web()))));

        Assert.That(skipped.Select(s => s.Key), Is.EqualTo(new[] { RegistryKeys.Service(Prefix, "default", "web") }));
        Assert.That(misplaced.Single().Reason, Does.Contain("default/web").And.Contain("default/elsewhere"));
        Assert.That(badKey, Has.Count.EqualTo(1));
        Assert.That(catalog.SkippedCount, Is.EqualTo(3));
        Assert.That(catalog.Desired(ServiceNetwork, PodNetworks).Frontends, Has.Count.EqualTo(1), "web keeps its rules");
    }

    [Test]
    public void A_cluster_ip_outside_the_service_network_gets_no_rules()
    {
        Put(Web() with { ClusterIP = IPAddress.Parse("198.18.200.1") });

        ServiceRulesInput desired = catalog.Desired(ServiceNetwork, PodNetworks);

        Assert.That(desired.Frontends, Is.Empty);
        Assert.That(desired.ClusterIPs, Is.Empty);
    }

    [Test]
    public void Each_desired_state_names_only_the_frontends_and_cluster_ips_that_changed_since_the_previous_one()
    {
        Put(Web());
        Put(Web() with { Name = "db", ClusterIP = IPAddress.Parse("198.19.0.30"), Selector = new Dictionary<string, string> { ["app"] = "db" } });
        ServiceRulesInput first = catalog.Desired(ServiceNetwork, PodNetworks);
        Assert.That(first.Changes!.Frontends, Has.Count.EqualTo(2));
        Assert.That(first.Changes.ClusterIPs, Has.Count.EqualTo(2));

        Put(Pod("default", "web-1", "198.18.1.5", ("app", "web")));
        ServiceRulesInput second = catalog.Desired(ServiceNetwork, PodNetworks);
        Delete(RegistryKeys.Service(Prefix, "default", "db"));
        ServiceRulesInput third = catalog.Desired(ServiceNetwork, PodNetworks);
        ServiceRulesInput quiet = catalog.Desired(ServiceNetwork, PodNetworks);

        var web = new Frontend(IPAddress.Parse("198.19.0.20"), ServiceProtocol.Tcp, 80);
        var db = new Frontend(IPAddress.Parse("198.19.0.30"), ServiceProtocol.Tcp, 80);
        Assert.That(second.Changes!.Frontends, Is.EqualTo(new[] { web }), "a pod joining web touches web only");
        Assert.That(second.Changes.ClusterIPs, Is.Empty);
        Assert.That(third.Changes!.Frontends, Is.EqualTo(new[] { db }));
        Assert.That(third.Changes.ClusterIPs, Is.EqualTo(new[] { IPAddress.Parse("198.19.0.30") }));
        Assert.That(third.Frontends.Keys, Is.EqualTo(new[] { web }));
        Assert.That(quiet.Changes!.Frontends, Is.Empty);
    }

    [Test]
    public void Planning_from_the_changes_gives_the_same_table_as_comparing_everything()
    {
        // The same sequence of registry updates planned twice: with the catalog's change hints, and without them.
        var hinted = new ServiceCatalog(Prefix);
        AppliedServiceRules? fast = null;
        AppliedServiceRules? slow = null;
        var random = new Random(12);
        for (int step = 0; step < 300; step++)
        {
            int i = random.Next(20);
            KeyChange change = random.Next(4) switch
            {
                0 => new KeyChange(RegistryKeys.Service(Prefix, "default", "s" + i), null),
                1 => new KeyChange(RegistryKeys.Pod(Prefix, "default", "p" + i), null),
                2 => new KeyChange(RegistryKeys.Pod(Prefix, "default", "p" + i), PodCodec.Serialize(Pod("default", "p" + i, $"198.18.{i}.{random.Next(2, 9)}", ("app", "a" + random.Next(3))))),
                _ => new KeyChange(RegistryKeys.Service(Prefix, "default", "s" + i), ServiceCodec.Serialize(Web() with
                {
                    Name = "s" + i,
                    ClusterIP = IPAddress.Parse($"198.19.1.{i + 1}"),
                    Selector = new Dictionary<string, string> { ["app"] = "a" + random.Next(3) },
                })),
            };
            hinted.Apply(Update(change));
            ServiceRulesInput desired = hinted.Desired(ServiceNetwork, PodNetworks);
            ServiceRulesInput everything = desired with { Changes = null, Frontends = new Dictionary<Frontend, IReadOnlyList<Backend>>(desired.Frontends), ClusterIPs = desired.ClusterIPs.ToList() };

            slow = ServiceRulesPlanner.Plan(slow, everything, token: 1).Result;
            fast = ServiceRulesPlanner.Plan(fast, desired, token: 1).Result;

            Assert.That(fast.Slots.Keys, Is.EquivalentTo(slow.Slots.Keys), $"step {step}");
            foreach ((Frontend frontend, Backend[] slots) in slow.Slots)
            {
                Assert.That(fast.Slots[frontend], Is.EquivalentTo(slots), $"step {step}: {frontend}");
            }

            Assert.That(fast.ClusterIPs, Is.EquivalentTo(slow.ClusterIPs), $"step {step}");
            Assert.That(fast.Hairpin, Is.EquivalentTo(slow.Hairpin), $"step {step}");
        }
    }

    private IReadOnlyList<Backend> BackendsOfWeb() =>
        catalog.Desired(ServiceNetwork, PodNetworks).Frontends[new Frontend(IPAddress.Parse("198.19.0.20"), ServiceProtocol.Tcp, 80)];

    [Test]
    public void The_zone_is_told_everything_first_and_then_only_what_changed()
    {
        Put(Web());
        Put(Pod("default", "web-1", "198.18.1.5", ("app", "web")));
        catalog.Desired(ServiceNetwork, PodNetworks);
        var zone = new RecordingZone();

        catalog.FeedZone(zone);
        List<string> first = [.. zone.Calls];
        zone.Calls.Clear();
        catalog.FeedZone(zone);
        List<string> quiet = [.. zone.Calls];

        Put(Pod("default", "web-2", "198.18.2.5", ("app", "web")));
        Put(Pod("default", "web-1", "198.18.1.6", ("app", "web")));
        Put(Pod("default", "web-1", "198.18.1.7", ("app", "web")));
        Delete(RegistryKeys.Service(Prefix, "default", "web"));
        catalog.Desired(ServiceNetwork, PodNetworks);
        catalog.FeedZone(zone);

        Assert.That(first, Is.EquivalentTo(new[] { "set service default/web 198.19.0.20 []", "set pod default/web-1 198.18.1.5" }));
        Assert.That(quiet, Is.Empty);
        Assert.That(zone.Calls, Is.EquivalentTo(new[] { "set pod default/web-2 198.18.2.5", "set pod default/web-1 198.18.1.7 (was 198.18.1.5)", "remove service default/web" }), "a pod changed twice is told once, with what the zone had");
    }

    [Test]
    public void A_headless_service_is_told_with_the_addresses_of_its_endpoints_as_they_change()
    {
        Put(Web() with { ClusterIP = null });
        Put(new PodRecord { Namespace = "default", Name = "web-1", Node = "198.18.1.0-24", Addresses = [IPAddress.Parse("198.18.1.5"), IPAddress.Parse("2001:db8:1::5")], Labels = new Dictionary<string, string> { ["app"] = "web" } });
        catalog.Desired(ServiceNetwork, PodNetworks);
        var zone = new RecordingZone();
        catalog.FeedZone(zone);
        zone.Calls.Clear();

        Delete(RegistryKeys.Pod(Prefix, "default", "web-1"));
        catalog.Desired(ServiceNetwork, PodNetworks);
        catalog.FeedZone(zone);

        Assert.That(zone.Calls, Is.EquivalentTo(new[] { "remove pod default/web-1 198.18.1.5,2001:db8:1::5", "set service default/web - []" }));
        Assert.That(zone.Headless["default/web"], Is.Empty);
        Assert.That(zone.History, Has.Some.EqualTo("set service default/web - [198.18.1.5, 2001:db8:1::5]"));
    }

    /// <summary>Writes down each call as text, in order.</summary>
    private sealed class RecordingZone : IClusterZoneFeed
    {
        public List<string> Calls { get; } = [];

        public List<string> History { get; } = [];

        public Dictionary<string, IReadOnlyList<IPAddress>> Headless { get; } = [];

        public void SetService(ServiceSpec service, IReadOnlyList<IPAddress> endpoints)
        {
            if (service.IsHeadless)
            {
                Headless[service.FullName] = endpoints;
            }

            Record($"set service {service.FullName} {service.ClusterIP?.ToString() ?? "-"} [{string.Join(", ", endpoints)}]");
        }

        public bool RemoveService(string serviceNamespace, string name)
        {
            Record($"remove service {serviceNamespace}/{name}");
            return true;
        }

        public void SetPod(PodRecord pod, PodRecord? previous) =>
            Record($"set pod {pod.FullName} {string.Join(",", pod.Addresses)}" + (previous is null ? "" : $" (was {string.Join(",", previous.Addresses)})"));

        public void RemovePod(PodRecord pod) => Record($"remove pod {pod.FullName} {string.Join(",", pod.Addresses)}");

        private void Record(string call)
        {
            Calls.Add(call);
            History.Add(call);
        }
    }

    private static ServiceSpec Web() => new()
    {
        Namespace = "default",
        Name = "web",
        ClusterIP = IPAddress.Parse("198.19.0.20"),
        Ports = [new ServicePort("http", 80, 8080, ServiceProtocol.Tcp)],
        Selector = new Dictionary<string, string> { ["app"] = "web" },
    };

    private static PodRecord Pod(string ns, string name, string address, params (string Key, string Value)[] labels) => new()
    {
        Namespace = ns,
        Name = name,
        Node = "198.18.1.0-24",
        Addresses = [IPAddress.Parse(address)],
        Labels = labels.ToDictionary(l => l.Key, l => l.Value),
    };

    private void Put(ServiceSpec service) =>
        Assert.That(catalog.Apply(Update(new KeyChange(RegistryKeys.Service(Prefix, service.Namespace, service.Name), ServiceCodec.Serialize(service)))), Is.Empty);

    private void Put(PodRecord pod) =>
        Assert.That(catalog.Apply(Update(new KeyChange(RegistryKeys.Pod(Prefix, pod.Namespace, pod.Name), PodCodec.Serialize(pod)))), Is.Empty);

    private void Delete(string key) => catalog.Apply(Update(new KeyChange(key, null)));

    private static PrefixUpdate Update(params KeyChange[] changes) => new(changes, Revision: 1, IsResync: false);
}
