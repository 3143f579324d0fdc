using System.Net;
using System.Text.Json;
using Overlay.Core.Services;

namespace Overlay.Cli.Tests.Commands;

public sealed class ServiceTests : CliFixture
{
    private const string WithServices = """{"Network":"198.18.0.0/16","ServiceNetwork":"198.19.0.0/16","Backend":{"Type":"vxlan"}}""";

    private string ServiceKey(string name, string ns = "default") => $"{Prefix}/services/{ns}/{name}";

    private string ClusterIPKey(string address) => $"{Prefix}/clusterips/{address}";

    [SetUp]
    public void StoreConfig() => PutConfig(WithServices);

    [Test]
    public async Task Create_prints_the_ClusterIP_and_stores_the_service_and_its_address_key()
    {
        CliResult result = await RunAsync("service", "create", "web", "--port", "http:80:8080/tcp", "--selector", "app=web");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Err, Is.Empty);
        string ip = result.Out.TrimEnd('\n');
        Assert.That(IPAddress.TryParse(ip, out IPAddress? address) && IPNetwork.Parse("198.19.0.0/16").Contains(address), Is.True, ip);
        Assert.That(StoredValue(ServiceKey("web")), Is.EqualTo($$$"""{"namespace":"default","name":"web","clusterIP":"{{{ip}}}","ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}],"selector":{"app":"web"}}"""));
        Assert.That(StoredValue(ClusterIPKey(ip)), Is.EqualTo("default/web"));
    }

    [Test]
    public async Task Create_with_a_requested_ClusterIP_endpoints_and_a_namespace_stores_them()
    {
        CliResult result = await RunAsync("service", "create", "dns", "-n", "infra", "--port", "53/udp", "--port", "dns-tcp:53", "--endpoint", "198.18.1.5", "--endpoint", "198.18.2.5", "--cluster-ip", "198.19.0.10");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("198.19.0.10\n"));
        Assert.That(StoredValue(ServiceKey("dns", "infra")), Is.EqualTo("""{"namespace":"infra","name":"dns","clusterIP":"198.19.0.10","ports":[{"port":53,"targetPort":53,"protocol":"UDP"},{"name":"dns-tcp","port":53,"targetPort":53,"protocol":"TCP"}],"endpoints":[{"ip":"198.18.1.5"},{"ip":"198.18.2.5"}]}"""));
        Assert.That(StoredValue(ClusterIPKey("198.19.0.10")), Is.EqualTo("infra/dns"));
    }

    [Test]
    public async Task Create_of_a_headless_service_prints_None_and_holds_no_address()
    {
        CliResult result = await RunAsync("service", "create", "db", "--port", "5432", "--selector", "app=db", "--cluster-ip", "None");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("None\n"));
        Assert.That(StoredValue(ServiceKey("db")), Does.Contain("\"clusterIP\":\"None\""));
        Assert.That(Etcd.Etcdctl("get", "--prefix", "--keys-only", Prefix + "/clusterips/").EnsureSuccess().StdOut.Trim(), Is.Empty);
    }

    [TestCase(new[] { "--port", "0", "--selector", "app=web" }, "flag --port: port '0' is not valid: port 0 is out of range 1..65535")]
    [TestCase(new[] { "--port", "80/sctp", "--selector", "app=web" }, "flag --port: port '80/sctp' is not valid: 'sctp' is not a protocol Overlay serves")]
    [TestCase(new[] { "--port", "80", "--selector", "app" }, "flag --selector: selector 'app' is not valid: it has no '='")]
    [TestCase(new[] { "--port", "80", "--endpoint", "198.18.1.5:99999" }, "flag --endpoint: endpoint '198.18.1.5:99999' is not valid: port 99999 is out of range")]
    [TestCase(new[] { "--port", "80", "--endpoint", "web:80" }, "flag --endpoint: endpoint 'web:80' is not valid: 'web' is not an IP address")]
    [TestCase(new[] { "--port", "80" }, "'service create' needs --selector KEY=VALUE")]
    [TestCase(new[] { "--port", "80", "--selector", "app=web", "--endpoint", "198.18.1.5" }, "give either --selector or --endpoint, not both")]
    [TestCase(new[] { "--selector", "app=web" }, "'service create' needs at least one --port")]
    [TestCase(new[] { "--port", "80", "--selector", "app=web", "--cluster-ip", "web" }, "flag --cluster-ip: 'web' is not an IPv4 address")]
    [TestCase(new[] { "--port", "80", "--selector", "app=web", "-n", "Shop" }, "flag --namespace: namespace 'Shop' is not valid")]
    [TestCase(new[] { "--port", "a:80", "--port", "a:81", "--selector", "app=web" }, "port name 'a' is used by 2 ports")]
    [TestCase(new[] { "--port", "80", "--port", "80:81", "--selector", "app=web" }, "port 80/TCP is given 2 times")]
    [TestCase(new[] { "--port", "80", "--port", "81", "--endpoint", "198.18.1.5:8080" }, "endpoint 198.18.1.5:8080 has a port, but the service has 2 ports")]
    public async Task Create_with_bad_input_exits_2_naming_the_input_and_writes_nothing(string[] flags, string message)
    {
        CliResult result = await RunAsync(["service", "create", "web", .. flags]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Does.StartWith("error: " + message));
        Assert.That(result.Err, Does.EndWith("See 'overlayctl service create --help' for usage.\n"));
        Assert.That(StoredValue(ServiceKey("web")), Is.Null);
    }

    [Test]
    public async Task Create_with_a_bad_name_exits_2()
    {
        CliResult result = await RunAsync("service", "create", "9web", "--port", "80", "--selector", "app=web");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Err, Does.StartWith("error: service name '9web' is not valid: it must start with a letter"));
    }

    [Test]
    public async Task Create_with_a_taken_ClusterIP_exits_1_naming_the_owner()
    {
        await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web", "--cluster-ip", "198.19.0.50");

        CliResult result = await RunAsync("service", "create", "db", "--port", "80", "--selector", "app=db", "--cluster-ip", "198.19.0.50");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Is.EqualTo("error: ClusterIP 198.19.0.50 is taken by service default/web; request another address, or none to get one picked\n"));
        Assert.That(StoredValue(ServiceKey("db")), Is.Null);
    }

    [Test]
    public async Task Create_with_a_ClusterIP_outside_the_service_network_exits_1_naming_the_range()
    {
        CliResult result = await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web", "--cluster-ip", "198.18.0.50");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Does.StartWith("error: ClusterIP 198.18.0.50 is outside the service network 198.19.0.0/16"));
    }

    [Test]
    public async Task Create_of_an_existing_service_exits_1()
    {
        await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web", "--cluster-ip", "198.19.0.50");

        CliResult result = await RunAsync("service", "create", "web", "--port", "81", "--selector", "app=web");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith("error: service default/web exists already (ClusterIP 198.19.0.50)"));
    }

    [Test]
    public async Task Create_without_a_service_network_exits_1_saying_how_to_set_one()
    {
        PutConfig(SixtyFourSubnets);

        CliResult result = await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Does.StartWith($"error: the network config at {Prefix}/config has no ServiceNetwork").And.Contain("overlayctl config set"));
        Assert.That(StoredValue(ServiceKey("web")), Is.Null);
    }

    [Test]
    public async Task List_shows_a_namespace_or_every_one_as_a_table()
    {
        await RunAsync("service", "create", "web", "--port", "http:80:8080", "--selector", "app=web,tier=front", "--cluster-ip", "198.19.0.50");
        await RunAsync("service", "create", "dns", "-n", "infra", "--port", "53/udp", "--endpoint", "198.18.1.5:5353", "--cluster-ip", "198.19.0.10");

        CliResult defaults = await RunAsync("service", "list");
        CliResult all = await RunAsync("service", "list", "-A", "-o", "wide");
        CliResult empty = await RunAsync("service", "list", "-n", "shop");

        Assert.That(defaults.ExitCode, Is.Zero, defaults.ToString());
        Assert.That(defaults.Out, Is.EqualTo("""
            NAME   CLUSTER-IP    PORTS              SELECTOR
            web    198.19.0.50   http:80:8080/tcp   app=web,tier=front

            """));
        Assert.That(all.Out, Is.EqualTo("""
            NAMESPACE   NAME   CLUSTER-IP    PORTS              SELECTOR             CLUSTER-IPV6   ENDPOINTS
            default     web    198.19.0.50   http:80:8080/tcp   app=web,tier=front   <none>         <none>
            infra       dns    198.19.0.10   53/udp             <none>               <none>         198.18.1.5:5353

            """));
        Assert.That(empty.ExitCode, Is.Zero);
        Assert.That(empty.Out, Is.Empty);
        Assert.That(empty.Err, Is.EqualTo("No services in namespace shop\n"));
    }

    [Test]
    public async Task List_as_JSON_has_the_documented_shape_and_reports_garbage_as_skipped()
    {
        await RunAsync("service", "create", "web", "--port", "http:80:8080", "--selector", "app=web", "--cluster-ip", "198.19.0.50");
        Etcd.Etcdctl("put", ServiceKey("bad"), "{garbage").EnsureSuccess();

        CliResult result = await RunAsync("service", "list", "-o", "json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.Out);
        JsonElement service = json.RootElement.GetProperty("services").EnumerateArray().Single();
        Assert.That(service.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "namespace", "name", "key", "clusterIP", "clusterIPv6", "headless", "ports", "selector", "endpoints" }));
        Assert.That(service.GetProperty("key").GetString(), Is.EqualTo(ServiceKey("web")));
        Assert.That(service.GetProperty("clusterIP").GetString(), Is.EqualTo("198.19.0.50"));
        Assert.That(service.GetProperty("clusterIPv6").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(service.GetProperty("endpoints").ValueKind, Is.EqualTo(JsonValueKind.Null));
        JsonElement port = service.GetProperty("ports").EnumerateArray().Single();
        Assert.That(port.EnumerateObject().Select(p => $"{p.Name}={p.Value}"), Is.EqualTo(new[] { "name=http", "port=80", "targetPort=8080", "protocol=TCP" }));
        Assert.That(service.GetProperty("selector").GetProperty("app").GetString(), Is.EqualTo("web"));
        JsonElement skipped = json.RootElement.GetProperty("skipped").EnumerateArray().Single();
        Assert.That(skipped.GetProperty("key").GetString(), Is.EqualTo(ServiceKey("bad")));
        Assert.That(skipped.GetProperty("reason").GetString(), Does.StartWith("bad service value"));
    }

    [Test]
    public async Task List_as_a_table_warns_of_garbage_and_shows_the_rest()
    {
        await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web", "--cluster-ip", "198.19.0.50");
        Etcd.Etcdctl("put", ServiceKey("bad"), "{garbage").EnsureSuccess();

        CliResult result = await RunAsync("service", "list");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Err, Does.StartWith($"warning: skipped {ServiceKey("bad")}: bad service value"));
        Assert.That(result.Out, Does.Contain("web    198.19.0.50"));
    }

    [Test]
    public async Task List_refuses_a_namespace_with_all_namespaces()
    {
        CliResult result = await RunAsync("service", "list", "-A", "-n", "shop");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Err, Does.StartWith("error: give --namespace or --all-namespaces, not both"));
    }

    [Test]
    public async Task Get_shows_one_service_and_a_missing_one_exits_1()
    {
        await RunAsync("service", "create", "web", "-n", "shop", "--port", "80", "--selector", "app=web", "--cluster-ip", "198.19.0.50");

        CliResult table = await RunAsync("service", "get", "web", "-n", "shop");
        CliResult json = await RunAsync("service", "get", "web", "-n", "shop", "-o", "json");
        CliResult missing = await RunAsync("service", "get", "web");

        Assert.That(table.ExitCode, Is.Zero, table.ToString());
        Assert.That(table.Out, Is.EqualTo("NAME   CLUSTER-IP    PORTS    SELECTOR\nweb    198.19.0.50   80/tcp   app=web\n"));
        Assert.That(json.ExitCode, Is.Zero);
        using (var document = JsonDocument.Parse(json.Out))
        {
            Assert.That(document.RootElement.GetProperty("namespace").GetString(), Is.EqualTo("shop"));
            Assert.That(document.RootElement.GetProperty("headless").GetBoolean(), Is.False);
        }

        Assert.That(missing.ExitCode, Is.EqualTo(1));
        Assert.That(missing.Err, Is.EqualTo($"error: there is no service default/web under {Prefix}/services/; 'overlayctl service list -A' shows what there is\n"));
    }

    [Test]
    public async Task Endpoints_of_a_selector_service_are_the_pods_it_selects_in_its_namespace_with_their_nodes()
    {
        await RunAsync("service", "create", "web", "--port", "http:80:8080", "--port", "dns:53/udp", "--selector", "app=web", "--cluster-ip", "198.19.0.50");
        PutPod("default", "web-2", "198.18.2.0-24", "198.18.2.7", ("app", "web"));
        PutPod("default", "web-1", "198.18.1.0-24", "198.18.1.5", ("app", "web"), ("tier", "front"));
        PutPod("default", "db-1", "198.18.1.0-24", "198.18.1.6", ("app", "db"));
        PutPod("shop", "web-1", "198.18.3.0-24", "198.18.3.5", ("app", "web"));

        CliResult result = await RunAsync("service", "endpoints", "web");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Err, Is.Empty);
        Assert.That(result.Out, Is.EqualTo("""
            PORT          TARGET   ENDPOINT          POD             NODE
            http:80/tcp   8080     198.18.1.5:8080   default/web-1   198.18.1.0-24
            http:80/tcp   8080     198.18.2.7:8080   default/web-2   198.18.2.0-24
            dns:53/udp    53       198.18.1.5:53     default/web-1   198.18.1.0-24
            dns:53/udp    53       198.18.2.7:53     default/web-2   198.18.2.0-24

            """));
    }

    [Test]
    public async Task Endpoints_of_a_service_that_selects_no_pod_show_none_and_say_connections_are_refused()
    {
        await RunAsync("service", "create", "web", "-n", "shop", "--port", "80:8080", "--selector", "app=web", "--cluster-ip", "198.19.0.50");
        PutPod("default", "web-1", "198.18.1.0-24", "198.18.1.5", ("app", "web"));

        CliResult result = await RunAsync("service", "endpoints", "web", "-n", "shop");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("""
            PORT     TARGET   ENDPOINT   POD      NODE
            80/tcp   8080     <none>     <none>   <none>

            """));
        Assert.That(result.Err, Is.EqualTo("80/tcp has no endpoints: connections to 198.19.0.50:80 are refused\n"));
    }

    [Test]
    public async Task Endpoints_given_by_hand_are_shown_at_their_own_port_or_the_target_port_without_pods()
    {
        await RunAsync("service", "create", "dns", "--port", "53/udp", "--endpoint", "198.18.2.5:5353", "--endpoint", "198.18.1.5", "--cluster-ip", "198.19.0.10");
        PutPod("default", "dns-1", "198.18.1.0-24", "198.18.1.5", ("app", "dns"));

        CliResult result = await RunAsync("service", "endpoints", "dns");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("""
            PORT     TARGET   ENDPOINT          POD      NODE
            53/udp   53       198.18.1.5:53     <none>   <none>
            53/udp   53       198.18.2.5:5353   <none>   <none>

            """));
    }

    [Test]
    public async Task Endpoints_of_a_dual_stack_service_include_the_IPv6_addresses_of_its_pods()
    {
        Etcd.Etcdctl("put", ServiceKey("web"), """{"namespace":"default","name":"web","clusterIP":"198.19.0.50","clusterIPv6":"2001:db8:5::32","ports":[{"port":80,"targetPort":8080,"protocol":"TCP"}],"selector":{"app":"web"}}""").EnsureSuccess();
        PutPod("default", "web-1", "198.18.1.0-24", "198.18.1.5", ("app", "web"));

        CliResult result = await RunAsync("service", "endpoints", "web");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Is.EqualTo("""
            PORT     TARGET   ENDPOINT          POD             NODE
            80/tcp   8080     198.18.1.5:8080   default/web-1   198.18.1.0-24

            """));
        Assert.That(result.Err, Is.EqualTo("80/tcp has no endpoints: connections to [2001:db8:5::32]:80 are refused\n"), "no pod has an IPv6 address");

        PutPod("default", "web-2", "198.18.2.0-24", "2001:db8:1:2::5", ("app", "web"));
        CliResult both = await RunAsync("service", "endpoints", "web");

        Assert.That(both.Out, Does.Contain("80/tcp   8080     [2001:db8:1:2::5]:8080   default/web-2   198.18.2.0-24\n"));
        Assert.That(both.Err, Is.Empty);
    }

    [Test]
    public async Task Endpoints_as_JSON_have_the_documented_shape_and_report_unreadable_pods_as_skipped()
    {
        await RunAsync("service", "create", "web", "--port", "http:80:8080", "--selector", "app=web", "--cluster-ip", "198.19.0.50");
        PutPod("default", "web-1", "198.18.1.0-24", "198.18.1.5", ("app", "web"));
        Etcd.Etcdctl("put", $"{Prefix}/pods/default/web-9", "{garbage").EnsureSuccess();

        CliResult json = await RunAsync("service", "endpoints", "web", "-o", "json");
        CliResult table = await RunAsync("service", "endpoints", "web");

        Assert.That(json.ExitCode, Is.Zero, json.ToString());
        Assert.That(json.Err, Is.Empty);
        using var document = JsonDocument.Parse(json.Out);
        JsonElement root = document.RootElement;
        Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "namespace", "name", "key", "clusterIP", "clusterIPv6", "ports", "skipped" }));
        Assert.That(root.GetProperty("key").GetString(), Is.EqualTo(ServiceKey("web")));
        JsonElement port = root.GetProperty("ports").EnumerateArray().Single();
        Assert.That(port.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "name", "port", "targetPort", "protocol", "endpoints" }));
        JsonElement endpoint = port.GetProperty("endpoints").EnumerateArray().Single();
        Assert.That(endpoint.EnumerateObject().Select(p => $"{p.Name}={p.Value}"), Is.EqualTo(new[] { "ip=198.18.1.5", "port=8080", "pod=default/web-1", "node=198.18.1.0-24" }));
        JsonElement skipped = root.GetProperty("skipped").EnumerateArray().Single();
        Assert.That(skipped.GetProperty("key").GetString(), Is.EqualTo($"{Prefix}/pods/default/web-9"));
        Assert.That(table.ExitCode, Is.Zero);
        Assert.That(table.Err, Does.StartWith($"warning: skipped {Prefix}/pods/default/web-9: "));
        Assert.That(table.Out, Does.Contain("198.18.1.5:8080   default/web-1"));
    }

    [Test]
    public async Task Endpoints_of_a_missing_service_exit_1()
    {
        CliResult result = await RunAsync("service", "endpoints", "web");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Out, Is.Empty);
        Assert.That(result.Err, Is.EqualTo($"error: there is no service default/web under {Prefix}/services/; 'overlayctl service list -A' shows what there is\n"));
    }

    /// <summary>A pod key as overlayd publishes it (the value through the real codec).</summary>
    private void PutPod(string ns, string name, string node, string address, params (string Key, string Value)[] labels) =>
        Etcd.Etcdctl("put", $"{Prefix}/pods/{ns}/{name}", PodCodec.Serialize(new PodRecord
        {
            Namespace = ns,
            Name = name,
            Node = node,
            Addresses = [IPAddress.Parse(address)],
            Labels = labels.ToDictionary(l => l.Key, l => l.Value),
        })).EnsureSuccess();

    [Test]
    public async Task Rm_asks_then_removes_the_service_and_releases_its_ClusterIP()
    {
        await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web", "--cluster-ip", "198.19.0.50");

        CliResult refused = await RunWithInputAsync("n\n", "service", "rm", "web");
        CliResult removed = await RunWithInputAsync("y\n", "service", "rm", "web");

        Assert.That(refused.ExitCode, Is.EqualTo(1));
        Assert.That(refused.Err, Is.EqualTo("Remove service default/web (ClusterIP 198.19.0.50)? [y/N] error: not removing default/web: not confirmed\n"));
        Assert.That(removed.ExitCode, Is.Zero, removed.ToString());
        Assert.That(removed.Out, Is.EqualTo("removed service default/web; ClusterIP 198.19.0.50 released\n"));
        Assert.That(StoredValue(ServiceKey("web")), Is.Null);
        Assert.That(StoredValue(ClusterIPKey("198.19.0.50")), Is.Null);
    }

    [Test]
    public async Task Rm_with_yes_does_not_ask_and_a_missing_service_exits_1()
    {
        await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web");

        CliResult removed = await RunAsync("service", "rm", "web", "--yes");
        CliResult missing = await RunAsync("service", "rm", "web", "--yes");

        Assert.That(removed.ExitCode, Is.Zero, removed.ToString());
        Assert.That(removed.Err, Is.Empty);
        Assert.That(missing.ExitCode, Is.EqualTo(1));
        Assert.That(missing.Err, Does.StartWith("error: there is no service default/web"));
    }

    [Test]
    public async Task Two_overlayctl_runs_creating_services_at_once_never_get_the_same_ClusterIP()
    {
        PutConfig("""{"Network":"198.18.0.0/16","ServiceNetwork":"198.19.0.0/26","Backend":{"Type":"vxlan"}}""");

        for (int round = 0; round < 3; round++)
        {
            CliResult[] results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => RunAsync("service", "create", $"svc-{round}-{i}", "--port", "80", "--selector", "app=x")));

            Assert.That(results.Select(r => r.ExitCode), Has.All.Zero, string.Join("\n", results.Select(r => r.ToString())));
        }

        CliResult list = await RunAsync("service", "list", "-o", "json");
        using var json = JsonDocument.Parse(list.Out);
        List<string?> addresses = json.RootElement.GetProperty("services").EnumerateArray().Select(s => s.GetProperty("clusterIP").GetString()).ToList();
        Assert.That(addresses, Has.Count.EqualTo(48).And.Unique);
    }

    [Test]
    public async Task Config_set_refuses_a_service_network_that_leaves_ClusterIPs_outside_unless_forced()
    {
        await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web", "--cluster-ip", "198.19.0.50");
        await RunAsync("service", "create", "db", "--port", "80", "--selector", "app=db", "--cluster-ip", "198.19.200.7");
        string file = Path.Combine(Path.GetTempPath(), $"overlayctl-test-{Guid.NewGuid():N}.json");
        const string Narrower = """{"Network":"198.18.0.0/16","ServiceNetwork":"198.19.0.0/24","Backend":{"Type":"vxlan"}}""";
        File.WriteAllText(file, Narrower);
        try
        {
            CliResult refused = await RunAsync("config", "set", file);
            CliResult forced = await RunAsync("config", "set", file, "--force");

            Assert.That(refused.ExitCode, Is.EqualTo(1), refused.ToString());
            Assert.That(refused.Err, Does.StartWith("error: the new config would leave 1 ClusterIP outside its service network (ServiceNetwork 198.19.0.0/24):\n  198.19.200.7 held by service default/db\n"));
            Assert.That(refused.Err, Does.Contain("pass --force"));
            Assert.That(forced.ExitCode, Is.Zero, forced.ToString());
            Assert.That(forced.Err, Is.EqualTo("warning: 1 ClusterIP now outside the service network (written with --force):\n  198.19.200.7 held by service default/db\n"));
            Assert.That(StoredValue(Prefix + "/config"), Is.EqualTo(Narrower));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public async Task Config_set_of_a_service_network_holding_every_ClusterIP_is_written_and_shown()
    {
        await RunAsync("service", "create", "web", "--port", "80", "--selector", "app=web", "--cluster-ip", "198.19.0.50");

        CliResult result = await RunWithInputAsync("""{"Network":"198.18.0.0/16","ServiceNetwork":"198.19.0.0/17","ClusterDomain":"Example.Test.","Backend":{"Type":"vxlan"}}""", "config", "set", "-");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Does.EndWith("; services 198.19.0.0/17, cluster domain example.test, cluster DNS 198.19.0.10\n"));
    }
}
