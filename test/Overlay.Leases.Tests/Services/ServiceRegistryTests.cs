using System.Net;
using Overlay.Core.Config;
using Overlay.Core.Services;
using Overlay.Leases.Etcd;
using Overlay.Leases.Services;

namespace Overlay.Leases.Tests.Services;

public sealed class ServiceRegistryTests : EtcdFixture
{
    private static NetworkConfig Config(string serviceNetwork = "198.19.0.0/16") =>
        NetworkConfigParser.Parse("{\"Network\":\"198.18.0.0/16\",\"ServiceNetwork\":\"" + serviceNetwork + "\",\"Backend\":{\"Type\":\"vxlan\"}}");

    private static ServiceSpec Service(string name, string @namespace = "default") => new()
    {
        Namespace = @namespace,
        Name = name,
        Ports = [new ServicePort("http", 80, 8080, ServiceProtocol.Tcp)],
        Selector = new Dictionary<string, string> { ["app"] = name },
    };

    private ServiceRegistry Registry(EtcdSession? session = null, Random? random = null) => new(session ?? Session, random: random);

    private string ServiceKey(string name, string @namespace = "default") => $"{Prefix}/services/{@namespace}/{name}";

    private string ClusterIPKey(string address) => $"{Prefix}/clusterips/{address}";

    private IReadOnlyDictionary<string, string> StoredClusterIPs() =>
        LeaseTesting.Stored(Etcd, Prefix + "/clusterips/").ToDictionary(k => k.Key[(Prefix.Length + "/clusterips/".Length)..], k => k.Value);

    [Test]
    public async Task A_created_service_is_stored_with_its_ClusterIP_key_and_reads_back()
    {
        ServiceRegistry registry = Registry();

        ServiceSpec created = await registry.CreateAsync(Config(), Service("web"), ClusterIPChoice.Auto, CancellationToken.None);
        ServiceSpec? read = await registry.GetAsync("default", "web", CancellationToken.None);
        ServiceListing listing = await registry.ListAsync(null, CancellationToken.None);

        Assert.That(created.ClusterIP, Is.Not.Null);
        Assert.That(IPNetwork.Parse("198.19.0.0/16").Contains(created.ClusterIP!), Is.True);
        Assert.That(LeaseTesting.Stored(Etcd, ServiceKey("web")).Single().Value, Is.EqualTo(ServiceCodec.Serialize(created)));
        Assert.That(StoredClusterIPs(), Is.EqualTo(new Dictionary<string, string> { [created.ClusterIP!.ToString()] = "default/web" }));
        Assert.That(ServiceCodec.Serialize(read!), Is.EqualTo(ServiceCodec.Serialize(created)));
        Assert.That(listing.Services.Select(s => s.FullName), Is.EqualTo(new[] { "default/web" }));
        Assert.That(listing.Skipped, Is.Empty);
    }

    [Test]
    public async Task A_missing_service_reads_as_null()
    {
        Assert.That(await Registry().GetAsync("default", "web", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Two_sessions_creating_forty_services_each_at_once_never_share_a_ClusterIP()
    {
        for (int round = 1; round <= 3; round++)
        {
            string prefix = LeaseTesting.UniquePrefix();
            await using var a = new EtcdSession(LeaseTesting.Options(Etcd, prefix));
            await using var b = new EtcdSession(LeaseTesting.Options(Etcd, prefix));

            // The same seed on both sides: they pick the same addresses in the same order, so they race for each.
            var log = new RecordingLogger<ServiceRegistry>();
            var first = new ServiceRegistry(a, log, new Random(round));
            var second = new ServiceRegistry(b, log, new Random(round));
            NetworkConfig config = Config("198.19.0.0/24");

            async Task<List<ServiceSpec>> CreateForty(ServiceRegistry registry, string @namespace)
            {
                var created = new List<ServiceSpec>();
                for (int i = 0; i < 40; i++)
                {
                    created.Add(await registry.CreateAsync(config, Service($"svc-{i}", @namespace), ClusterIPChoice.Auto, CancellationToken.None));
                }

                return created;
            }

            List<ServiceSpec>[] results = await Task.WhenAll(CreateForty(first, "left"), CreateForty(second, "right"));

            List<IPAddress> addresses = results.SelectMany(r => r).Select(s => s.ClusterIP!).ToList();
            Assert.That(addresses, Has.Count.EqualTo(80).And.Unique, $"round {round}");
            Assert.That(log.Entries.Count(e => e.Id.Id == 2402), Is.Positive, "the two creators never raced for an address, so the guard was not tested");
            var keys = LeaseTesting.Stored(Etcd, prefix + "/clusterips/").ToDictionary(k => k.Key[(prefix.Length + "/clusterips/".Length)..], k => k.Value);
            Assert.That(keys, Has.Count.EqualTo(80));
            foreach (ServiceSpec service in results.SelectMany(r => r))
            {
                Assert.That(keys[service.ClusterIP!.ToString()], Is.EqualTo(service.FullName), $"round {round}");
            }

            Etcd.Etcdctl("del", "--prefix", prefix).EnsureSuccess();
        }
    }

    [Test]
    public async Task A_requested_ClusterIP_held_by_another_service_is_refused_naming_the_owner()
    {
        ServiceRegistry registry = Registry();
        await registry.CreateAsync(Config(), Service("web"), ClusterIPChoice.Requested(IPAddress.Parse("198.19.0.50")), CancellationToken.None);

        var refused = Assert.ThrowsAsync<ClusterIPUnavailableException>(() =>
            registry.CreateAsync(Config(), Service("db", "shop"), ClusterIPChoice.Requested(IPAddress.Parse("198.19.0.50")), CancellationToken.None));

        Assert.That(refused!.Owner, Is.EqualTo("default/web"));
        Assert.That(refused.Message, Is.EqualTo("ClusterIP 198.19.0.50 is taken by service default/web; request another address, or none to get one picked"));
        Assert.That(LeaseTesting.Stored(Etcd, ServiceKey("db", "shop")), Is.Empty);
        Assert.That(StoredClusterIPs(), Is.EqualTo(new Dictionary<string, string> { ["198.19.0.50"] = "default/web" }));
    }

    [Test]
    public async Task The_kept_addresses_are_given_when_requested()
    {
        ServiceSpec kubernetes = await Registry().CreateAsync(Config(), Service("kubernetes"), ClusterIPChoice.Requested(IPAddress.Parse("198.19.0.1")), CancellationToken.None);

        Assert.That(kubernetes.ClusterIP, Is.EqualTo(IPAddress.Parse("198.19.0.1")));
    }

    [Test]
    public void A_requested_ClusterIP_outside_the_service_network_is_refused_and_nothing_is_written()
    {
        var refused = Assert.ThrowsAsync<ClusterIPUnavailableException>(() =>
            Registry().CreateAsync(Config(), Service("web"), ClusterIPChoice.Requested(IPAddress.Parse("198.18.0.50")), CancellationToken.None));

        Assert.That(refused!.Message, Does.StartWith("ClusterIP 198.18.0.50 is outside the service network 198.19.0.0/16"));
        Assert.That(refused.Owner, Is.Null);
        Assert.That(LeaseTesting.Stored(Etcd, Prefix + "/"), Is.Empty);
    }

    [Test]
    public async Task A_service_that_exists_is_not_overwritten()
    {
        ServiceRegistry registry = Registry();
        ServiceSpec web = await registry.CreateAsync(Config(), Service("web"), ClusterIPChoice.Auto, CancellationToken.None);

        var refused = Assert.ThrowsAsync<ServiceExistsException>(() => registry.CreateAsync(Config(), Service("web"), ClusterIPChoice.Auto, CancellationToken.None));

        Assert.That(refused!.Message, Does.StartWith($"service default/web exists already (ClusterIP {web.ClusterIP})"));
        Assert.That(StoredClusterIPs().Keys, Is.EqualTo(new[] { web.ClusterIP!.ToString() }));
    }

    [Test]
    public async Task Delete_removes_the_service_and_releases_its_ClusterIP()
    {
        ServiceRegistry registry = Registry();
        await registry.CreateAsync(Config(), Service("web"), ClusterIPChoice.Requested(IPAddress.Parse("198.19.0.50")), CancellationToken.None);
        await registry.CreateAsync(Config(), Service("db"), ClusterIPChoice.Auto, CancellationToken.None);

        ServiceSpec? deleted = await registry.DeleteAsync("default", "web", CancellationToken.None);
        ServiceSpec again = await registry.CreateAsync(Config(), Service("cache"), ClusterIPChoice.Requested(IPAddress.Parse("198.19.0.50")), CancellationToken.None);

        Assert.That(deleted!.ClusterIP, Is.EqualTo(IPAddress.Parse("198.19.0.50")));
        Assert.That(LeaseTesting.Stored(Etcd, ServiceKey("web")), Is.Empty);
        Assert.That(again.ClusterIP, Is.EqualTo(IPAddress.Parse("198.19.0.50")));
        Assert.That(StoredClusterIPs()["198.19.0.50"], Is.EqualTo("default/cache"));
        Assert.That(StoredClusterIPs(), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Delete_of_a_service_with_an_unreadable_value_releases_the_addresses_naming_it()
    {
        LeaseTesting.Put(Etcd, ServiceKey("web"), "{garbage");
        LeaseTesting.Put(Etcd, ClusterIPKey("198.19.0.77"), "default/web");
        LeaseTesting.Put(Etcd, ClusterIPKey("198.19.0.78"), "default/other");

        ServiceSpec? deleted = await Registry().DeleteAsync("default", "web", CancellationToken.None);

        Assert.That(deleted, Is.Null);
        Assert.That(LeaseTesting.Stored(Etcd, ServiceKey("web")), Is.Empty);
        Assert.That(StoredClusterIPs(), Is.EqualTo(new Dictionary<string, string> { ["198.19.0.78"] = "default/other" }));
    }

    [Test]
    public void Delete_of_a_missing_service_says_so()
    {
        var refused = Assert.ThrowsAsync<ServiceNotFoundException>(() => Registry().DeleteAsync("default", "web", CancellationToken.None));

        Assert.That(refused!.Message, Does.StartWith($"there is no service default/web (no key {ServiceKey("web")})"));
    }

    [Test]
    public async Task Listing_skips_garbage_with_the_key_and_reason_and_returns_the_rest()
    {
        ServiceRegistry registry = Registry();
        await registry.CreateAsync(Config(), Service("web"), ClusterIPChoice.Auto, CancellationToken.None);
        LeaseTesting.Put(Etcd, ServiceKey("bad"), "{not json");
        LeaseTesting.Put(Etcd, ServiceKey("other"), ServiceCodec.Serialize(Service("web") with { ClusterIP = IPAddress.Parse("198.19.0.9") }));
        LeaseTesting.Put(Etcd, Prefix + "/services/loose", "x");

        ServiceListing listing = await registry.ListAsync(null, CancellationToken.None);

        Assert.That(listing.Services.Select(s => s.FullName), Is.EqualTo(new[] { "default/web" }));
        Assert.That(listing.Skipped.Select(s => s.Key), Is.EquivalentTo(new[] { ServiceKey("bad"), ServiceKey("other"), Prefix + "/services/loose" }));
        Assert.That(listing.Skipped.Single(s => s.Key == ServiceKey("bad")).Reason, Does.StartWith("bad service value: not a service value"));
        Assert.That(listing.Skipped.Single(s => s.Key == ServiceKey("other")).Reason, Is.EqualTo("the value names service default/web, not default/other"));
        Assert.That(listing.Skipped.Single(s => s.Key == Prefix + "/services/loose").Reason, Does.StartWith("not a service key"));
    }

    [Test]
    public async Task Get_of_a_garbage_value_throws_with_the_reason()
    {
        LeaseTesting.Put(Etcd, ServiceKey("bad"), "{not json");

        var refused = Assert.ThrowsAsync<ServiceRegistryException>(() => Registry().GetAsync("default", "bad", CancellationToken.None));

        Assert.That(refused!.Message, Does.StartWith($"{ServiceKey("bad")} does not hold a service: bad service value"));
    }

    [Test]
    public async Task Listing_one_namespace_leaves_out_the_others_and_pages_through_many()
    {
        var registry = new ServiceRegistry(Session) { ListPageSize = 2 };
        for (int i = 0; i < 5; i++)
        {
            await registry.CreateAsync(Config(), Service($"web-{i}", "shop"), ClusterIPChoice.Auto, CancellationToken.None);
        }

        await registry.CreateAsync(Config(), Service("web"), ClusterIPChoice.Auto, CancellationToken.None);
        await registry.CreateAsync(Config(), Service("web", "shopping"), ClusterIPChoice.Auto, CancellationToken.None);

        ServiceListing shop = await registry.ListAsync("shop", CancellationToken.None);
        ServiceListing all = await registry.ListAsync(null, CancellationToken.None);
        IReadOnlyList<HeldClusterIP> held = await registry.ListClusterIPsAsync(CancellationToken.None);

        Assert.That(shop.Services.Select(s => s.Name), Is.EqualTo(Enumerable.Range(0, 5).Select(i => $"web-{i}")));
        Assert.That(all.Services, Has.Count.EqualTo(7));
        Assert.That(held.Select(h => h.Address), Is.EquivalentTo(all.Services.Select(s => s.ClusterIP)));
        Assert.That(held.Select(h => h.Owner), Is.EquivalentTo(all.Services.Select(s => s.FullName)));
    }

    [Test]
    public async Task A_full_service_network_refuses_a_new_service()
    {
        ServiceRegistry registry = Registry();
        for (int i = 0; i < 12; i++)
        {
            await registry.CreateAsync(Config("198.19.0.0/28"), Service($"web-{i}"), ClusterIPChoice.Auto, CancellationToken.None);
        }

        var refused = Assert.ThrowsAsync<ServiceNetworkExhaustedException>(() => registry.CreateAsync(Config("198.19.0.0/28"), Service("one-more"), ClusterIPChoice.Auto, CancellationToken.None));

        Assert.That(refused!.Message, Does.StartWith("the service network 198.19.0.0/28 is full"));
        Assert.That(StoredClusterIPs(), Has.Count.EqualTo(12));
    }

    [Test]
    public async Task Without_a_service_network_only_a_headless_service_can_be_created()
    {
        NetworkConfig config = NetworkConfigParser.Parse(LeaseTesting.SixtyFourSubnets);
        ServiceRegistry registry = Registry();

        var refused = Assert.ThrowsAsync<ServiceRegistryException>(() => registry.CreateAsync(config, Service("web"), ClusterIPChoice.Auto, CancellationToken.None));
        ServiceSpec headless = await registry.CreateAsync(config, Service("db"), ClusterIPChoice.Headless, CancellationToken.None);

        Assert.That(refused!.Message, Does.Contain("the network config has no ServiceNetwork").And.Contain("overlayctl config set"));
        Assert.That(headless.IsHeadless, Is.True);
        Assert.That(LeaseTesting.Stored(Etcd, ServiceKey("db")).Single().Value, Does.Contain("\"clusterIP\":\"None\""));
        Assert.That(StoredClusterIPs(), Is.Empty);
    }

    [Test]
    public async Task A_dual_stack_service_network_gives_and_releases_both_addresses()
    {
        NetworkConfig config = NetworkConfigParser.Parse("""{"Network":"198.18.0.0/16","EnableIPv6":true,"IPv6Network":"2001:db8:1::/48","ServiceNetwork":"198.19.0.0/16","ServiceIPv6Network":"2001:db8:ffff::/112","Backend":{"Type":"vxlan"}}""");
        ServiceRegistry registry = Registry();

        ServiceSpec web = await registry.CreateAsync(config, Service("web"), ClusterIPChoice.Auto, CancellationToken.None);
        IReadOnlyDictionary<string, string> held = StoredClusterIPs();
        await registry.DeleteAsync("default", "web", CancellationToken.None);

        Assert.That(IPNetwork.Parse("2001:db8:ffff::/112").Contains(web.ClusterIPv6!), Is.True);
        Assert.That(held, Is.EqualTo(new Dictionary<string, string> { [web.ClusterIP!.ToString()] = "default/web", [web.ClusterIPv6!.ToString()] = "default/web" }));
        Assert.That(StoredClusterIPs(), Is.Empty);
    }
}
