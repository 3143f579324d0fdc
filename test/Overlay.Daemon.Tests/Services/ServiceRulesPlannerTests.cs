using System.Net;
using System.Text.RegularExpressions;
using Overlay.Core.Services;
using Overlay.Daemon.Services;

namespace Overlay.Daemon.Tests.Services;

public partial class ServiceRulesPlannerTests
{
    internal static readonly IPNetwork ServiceNetwork = IPNetwork.Parse("198.19.0.0/16");
    internal static readonly IPNetwork PodNetwork = IPNetwork.Parse("198.18.0.0/16");

    internal static readonly Frontend Web = new(IPAddress.Parse("198.19.0.23"), ServiceProtocol.Tcp, 80);
    internal static readonly Frontend Resolver = new(IPAddress.Parse("198.19.0.10"), ServiceProtocol.Udp, 53);

    internal static Backend B(string address, int port = 8080) => new(IPAddress.Parse(address), port);

    internal static readonly Backend A1 = B("198.18.1.5");
    internal static readonly Backend A2 = B("198.18.2.5");
    internal static readonly Backend A3 = B("198.18.3.5");
    internal static readonly Backend A4 = B("198.18.4.5");

    internal static ServiceRulesInput Input(params (Frontend Frontend, Backend[] Backends)[] frontends) => new(
        ServiceNetwork,
        [PodNetwork],
        frontends.ToDictionary(f => f.Frontend, f => (IReadOnlyList<Backend>)f.Backends),
        frontends.Select(f => f.Frontend.ClusterIP).Distinct().ToArray());

    private static ServiceRulesPlan Apply(ServiceRulesInput input) => ServiceRulesPlanner.Plan(null, input, token: 77);

    private static string Script(ServiceRulesPlan plan) => string.Concat(plan.Transactions.Select(t => t.Script));

    /// <summary>The elements a statement like <c>add element ip overlay-services backends { ... }</c> lists, in order.</summary>
    internal static string[] Elements(string script, string verb, string set)
    {
        var found = new List<string>();
        foreach (Match m in ElementStatement().Matches(script))
        {
            if (m.Groups["verb"].Value == verb && m.Groups["set"].Value == set)
            {
                found.AddRange(m.Groups["body"].Value.Split(",\n").Select(e => e.Trim()).Where(e => e.Length > 0));
            }
        }

        return [.. found];
    }

    [GeneratedRegex(@"^(?<verb>add|delete) element ip6? overlay-services (?<set>[a-z-]+) \{\n(?<body>.*?)\}\n", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex ElementStatement();

    [Test]
    public void The_first_plan_replaces_the_whole_table_in_one_transaction()
    {
        ServiceRulesPlan plan = Apply(Input((Web, [A1, A2, A3]), (Resolver, [A1])));

        Assert.That(plan.FullLoad, Is.True);
        Assert.That(plan.Transactions, Has.Count.EqualTo(1));
        string script = plan.Transactions[0].Script;
        Assert.That(script, Does.StartWith("table ip overlay-services {}\ndelete table ip overlay-services\ntable ip overlay-services {\n"));
        Assert.That(Elements(script, "add", "service-ips"), Is.EquivalentTo(new[] { "198.19.0.23 . tcp . 80 : goto lb-3", "198.19.0.10 . udp . 53 : goto lb-1" }));
        Assert.That(Elements(script, "add", "backends"), Is.EquivalentTo(new[]
        {
            "198.19.0.23 . tcp . 80 . 0 : 198.18.1.5 . 8080",
            "198.19.0.23 . tcp . 80 . 1 : 198.18.2.5 . 8080",
            "198.19.0.23 . tcp . 80 . 2 : 198.18.3.5 . 8080",
            "198.19.0.10 . udp . 53 . 0 : 198.18.1.5 . 8080",
        }));
        Assert.That(Elements(script, "add", "cluster-ips"), Is.EquivalentTo(new[] { "198.19.0.23", "198.19.0.10" }));
        Assert.That(Elements(script, "add", "hairpin"), Is.EquivalentTo(new[] { "198.18.1.5 . 198.18.1.5", "198.18.2.5 . 198.18.2.5", "198.18.3.5 . 198.18.3.5" }));
        Assert.That(script, Does.Contain("chain lb-1 { dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 1 map @backends; }"));
        Assert.That(script, Does.Contain("chain lb-3 { dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 3 map @backends; }"));
        Assert.That(script, Does.Contain("chain lb-64 { dnat ip to ip daddr . meta l4proto . th dport . numgen random mod 64 map @backends; }"));
        Assert.That(script, Does.Not.Contain("lb-65"));
        Assert.That(plan.Result.Token, Is.EqualTo(77));
        Assert.That(script, Does.Contain("set canary { type inet_service; elements = { 77 }; }").And.Contain("comment \"overlay-services 77\""));
    }

    [Test]
    public void The_skeleton_hooks_the_service_network_into_nat_and_filter_and_masquerades_only_marked_and_hairpin_traffic()
    {
        string script = Script(Apply(Input((Web, [A1]))));

        Assert.That(script, Does.Contain("type nat hook prerouting priority dstnat; policy accept;\n        dnat ip to ip daddr . meta l4proto . th dport map @cluster-dns\n        ip daddr 198.19.0.0/16 jump services"));
        Assert.That(script, Does.Contain("type nat hook output priority -100; policy accept;\n        dnat ip to ip daddr . meta l4proto . th dport map @cluster-dns\n        ip daddr 198.19.0.0/16 jump services"));
        Assert.That(script, Does.Contain("set pod-networks { type ipv4_addr; flags interval; elements = { 198.18.0.0/16 }; }"));
        Assert.That(script, Does.Contain("ip saddr != @pod-networks meta mark set meta mark | 0x00004000\n        ip daddr . meta l4proto . th dport vmap @service-ips"));
        Assert.That(script, Does.Contain("meta mark & 0x00004000 == 0x00004000 masquerade fully-random\n        ct status dnat ip saddr . ip daddr @hairpin masquerade fully-random"));
        Assert.That(script, Does.Contain("ip daddr @cluster-ips meta l4proto tcp reject with tcp reset\n        ip daddr @cluster-ips reject\n        drop"));
        Assert.That(script, Does.Contain("type filter hook forward priority filter; policy accept;\n        ip daddr 198.19.0.0/16 jump unserved"));
        Assert.That(script, Does.Contain("type filter hook output priority filter; policy accept;\n        ip daddr 198.19.0.0/16 jump unserved"));
        Assert.That(Regex.Matches(script, "masquerade"), Has.Count.EqualTo(2), "no other masquerade: pod-to-pod through a ClusterIP keeps its source");
    }

    [Test]
    public void Nothing_changed_plans_no_transaction()
    {
        ServiceRulesInput input = Input((Web, [A1, A2]), (Resolver, []));
        ServiceRulesPlan first = Apply(input);

        ServiceRulesPlan again = ServiceRulesPlanner.Plan(first.Result, input, token: 78);

        Assert.That(again.Transactions, Is.Empty);
        Assert.That(again.FullLoad, Is.False);
        Assert.That(again.Result.Token, Is.EqualTo(77), "a delta keeps the canary of the full load");
        Assert.That(again.StaleBackends, Is.Empty);
    }

    [Test]
    public void The_same_endpoints_in_another_order_change_nothing()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2, A3])));

        ServiceRulesPlan again = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A3, A1, A2])), token: 1);

        Assert.That(again.Transactions, Is.Empty);
        Assert.That(again.Result.Slots[Web], Is.SameAs(first.Result.Slots[Web]));
    }

    [Test]
    public void Adding_a_service_adds_only_its_elements()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2, A3])));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A1, A2, A3]), (Resolver, [A4])), token: 1);

        Assert.That(plan.FullLoad, Is.False);
        Assert.That(plan.Transactions, Has.Count.EqualTo(1));
        string script = plan.Transactions[0].Script;
        Assert.That(script, Does.Not.Contain("table ip overlay-services {"));
        Assert.That(script, Does.Not.Contain("chain"), "lb-1 to lb-64 exist from the full load");
        Assert.That(Elements(script, "add", "backends"), Is.EqualTo(new[] { "198.19.0.10 . udp . 53 . 0 : 198.18.4.5 . 8080" }));
        Assert.That(Elements(script, "add", "service-ips"), Is.EqualTo(new[] { "198.19.0.10 . udp . 53 : goto lb-1" }));
        Assert.That(Elements(script, "add", "cluster-ips"), Is.EqualTo(new[] { "198.19.0.10" }));
        Assert.That(Elements(script, "add", "hairpin"), Is.EqualTo(new[] { "198.18.4.5 . 198.18.4.5" }));
        Assert.That(script, Does.Not.Contain("delete"));
        Assert.That(plan.ElementsAdded, Is.EqualTo(4));
        Assert.That(plan.ElementsRemoved, Is.Zero);
    }

    [Test]
    public void Removing_a_service_deletes_its_elements_and_reports_its_backends_as_stale()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2, A3]), (Resolver, [A4])));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A1, A2, A3])), token: 1);

        string script = Script(plan);
        Assert.That(Elements(script, "delete", "service-ips"), Is.EqualTo(new[] { "198.19.0.10 . udp . 53" }));
        Assert.That(Elements(script, "delete", "backends"), Is.EqualTo(new[] { "198.19.0.10 . udp . 53 . 0" }));
        Assert.That(Elements(script, "delete", "cluster-ips"), Is.EqualTo(new[] { "198.19.0.10" }));
        Assert.That(Elements(script, "delete", "hairpin"), Is.EqualTo(new[] { "198.18.4.5 . 198.18.4.5" }));
        Assert.That(script, Does.Not.Contain("add "));
        Assert.That(plan.StaleBackends, Is.EqualTo(new[] { A4 }));
    }

    [Test]
    public void Replacing_one_endpoint_rewrites_only_its_slot()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2, A3])));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A1, A4, A3])), token: 1);

        string script = Script(plan);
        Assert.That(Elements(script, "delete", "backends"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 . 1" }));
        Assert.That(Elements(script, "add", "backends"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 . 1 : 198.18.4.5 . 8080" }));
        Assert.That(Elements(script, "delete", "service-ips"), Is.Empty, "the count is still 3: lb-3 stays");
        Assert.That(Elements(script, "add", "service-ips"), Is.Empty);
        Assert.That(plan.StaleBackends, Is.EqualTo(new[] { A2 }));
        Assert.That(plan.Transactions, Has.Count.EqualTo(1));
    }

    [Test]
    public void A_shrinking_endpoint_list_moves_the_last_endpoint_into_the_hole_and_switches_the_chain()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2, A3])));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A1, A3])), token: 1);

        string script = Script(plan);
        Assert.That(plan.Result.Slots[Web], Is.EqualTo(new[] { A1, A3 }));
        Assert.That(Elements(script, "delete", "backends"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 . 1", "198.19.0.23 . tcp . 80 . 2" }));
        Assert.That(Elements(script, "add", "backends"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 . 1 : 198.18.3.5 . 8080" }));
        Assert.That(Elements(script, "delete", "service-ips"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80" }));
        Assert.That(Elements(script, "add", "service-ips"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 : goto lb-2" }));
        Assert.That(script, Does.Not.Contain("chain"));
        Assert.That(plan.Transactions, Has.Count.EqualTo(1), "one frontend's change is one transaction: no moment with lb-2 over three slots or lb-3 over two");
    }

    [Test]
    public void A_growing_endpoint_list_keeps_the_existing_slots()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2])));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A4, A2, A1])), token: 1);

        Assert.That(plan.Result.Slots[Web], Is.EqualTo(new[] { A1, A2, A4 }));
        string script = Script(plan);
        Assert.That(Elements(script, "delete", "backends"), Is.Empty);
        Assert.That(Elements(script, "add", "backends"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 . 2 : 198.18.4.5 . 8080" }));
        Assert.That(Elements(script, "add", "service-ips"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 : goto lb-3" }));
    }

    [Test]
    public void A_service_losing_its_last_endpoint_leaves_the_dispatch_map_but_keeps_its_ClusterIP_so_it_is_refused()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1])));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [])), token: 1);

        string script = Script(plan);
        Assert.That(Elements(script, "delete", "service-ips"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80" }));
        Assert.That(Elements(script, "delete", "backends"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 . 0" }));
        Assert.That(script, Does.Not.Contain("cluster-ips"));
        Assert.That(plan.Result.ClusterIPs, Does.Contain(Web.ClusterIP));
        Assert.That(plan.StaleBackends, Is.EqualTo(new[] { A1 }));
    }

    [Test]
    public void A_service_without_endpoints_getting_one_enters_the_dispatch_map()
    {
        ServiceRulesPlan first = Apply(Input((Web, [])));
        Assert.That(Elements(Script(first), "add", "service-ips"), Is.Empty);
        Assert.That(Elements(Script(first), "add", "cluster-ips"), Is.EqualTo(new[] { "198.19.0.23" }));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A2])), token: 1);

        string script = Script(plan);
        Assert.That(Elements(script, "add", "backends"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 . 0 : 198.18.2.5 . 8080" }));
        Assert.That(Elements(script, "add", "service-ips"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 : goto lb-1" }));
        Assert.That(Elements(script, "delete", "service-ips"), Is.Empty);
    }

    [Test]
    public void A_port_added_to_a_service_adds_one_frontend_and_nothing_for_the_ClusterIP()
    {
        var https = Web with { Port = 443 };
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2])));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A1, A2]), (https, [B("198.18.1.5", 8443), B("198.18.2.5", 8443)])), token: 1);

        string script = Script(plan);
        Assert.That(Elements(script, "add", "service-ips"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 443 : goto lb-2" }));
        Assert.That(Elements(script, "add", "backends"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 443 . 0 : 198.18.1.5 . 8443", "198.19.0.23 . tcp . 443 . 1 : 198.18.2.5 . 8443" }));
        Assert.That(script, Does.Not.Contain("cluster-ips").And.Not.Contain("hairpin").And.Not.Contain("chain"));
    }

    [Test]
    public void A_backend_still_used_by_another_frontend_is_not_stale()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2]), (Resolver, [A1])));

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A2]), (Resolver, [A1])), token: 1);

        Assert.That(plan.StaleBackends, Is.Empty);
        Assert.That(Elements(Script(plan), "delete", "hairpin"), Is.Empty);
    }

    [Test]
    public void A_full_reload_after_drift_still_reports_the_backends_the_last_apply_used()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1, A2])));

        ServiceRulesPlan reload = ServiceRulesPlanner.Plan(null, Input((Web, [A2])), token: 2, previous: first.Result);

        Assert.That(reload.FullLoad, Is.True);
        Assert.That(reload.StaleBackends, Is.EqualTo(new[] { A1 }));
    }

    [Test]
    public void Duplicate_backends_count_once()
    {
        ServiceRulesPlan plan = Apply(Input((Web, [A1, A1, A2])));

        Assert.That(plan.Result.Slots[Web], Is.EqualTo(new[] { A1, A2 }));
        Assert.That(Elements(Script(plan), "add", "service-ips"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 : goto lb-2" }));
    }

    [Test]
    public void A_changed_service_network_or_pod_network_reloads_the_whole_table_with_a_new_canary()
    {
        ServiceRulesInput input = Input((Web, [A1]));
        ServiceRulesPlan first = Apply(input);

        ServiceRulesPlan pods = ServiceRulesPlanner.Plan(first.Result, input with { PodNetworks = [PodNetwork, IPNetwork.Parse("100.64.0.0/10")] }, token: 5);
        ServiceRulesPlan services = ServiceRulesPlanner.Plan(first.Result, input with { ServiceNetwork = IPNetwork.Parse("198.19.0.0/17") }, token: 6);

        Assert.That(pods.FullLoad, Is.True);
        Assert.That(pods.Result.Token, Is.EqualTo(5));
        Assert.That(Script(pods), Does.Contain("elements = { 100.64.0.0/10, 198.18.0.0/16 }"));
        Assert.That(services.FullLoad, Is.True);
        Assert.That(Script(services), Does.Contain("ip daddr 198.19.0.0/17 jump services"));
        Assert.That(pods.StaleBackends, Is.Empty, "a reload of the same backends makes none stale");
    }

    [Test]
    public void Pod_networks_of_the_other_family_and_networks_inside_others_are_left_out()
    {
        ServiceRulesInput input = Input((Web, [A1])) with
        {
            PodNetworks = [IPNetwork.Parse("198.18.34.0/24"), IPNetwork.Parse("2001:db8:100::/48"), PodNetwork],
        };

        Assert.That(Apply(input).Result.PodNetworks, Is.EqualTo(new[] { PodNetwork }));
    }

    [Test]
    public void Without_pod_networks_the_set_is_declared_empty()
    {
        string script = Script(Apply(Input((Web, [A1])) with { PodNetworks = [] }));

        Assert.That(script, Does.Contain("set pod-networks { type ipv4_addr; flags interval; }"));
    }

    [Test]
    public void A_large_load_is_split_so_every_transaction_holds_whole_frontends_and_the_ClusterIPs_come_last()
    {
        var frontends = Enumerable.Range(0, 100)
            .Select(i => (new Frontend(IPAddress.Parse($"198.19.1.{i}"), ServiceProtocol.Tcp, 80),
                          Enumerable.Range(0, 1 + (i % 4)).Select(j => B($"198.18.{j}.{i}")).ToArray()))
            .ToArray();

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(null, Input(frontends), token: 1, budget: 50);

        Assert.That(plan.Transactions, Has.Count.GreaterThan(5));
        Assert.That(plan.Transactions[0].Script, Does.StartWith("table ip overlay-services {}\ndelete table"));
        Assert.That(plan.Transactions.Skip(1).Select(t => t.Script), Has.None.Contains("table ip overlay-services {"));
        Assert.That(plan.Transactions.Select(t => t.ElementsAdded + t.ElementsRemoved), Has.All.LessThanOrEqualTo(50));
        int clusterIPsFrom = plan.Transactions.ToList().FindIndex(t => t.Script.Contains("cluster-ips {\n", StringComparison.Ordinal));
        Assert.That(plan.Transactions.Skip(clusterIPsFrom + 1).Select(t => Elements(t.Script, "add", "service-ips")), Has.All.Empty, "ClusterIPs follow every frontend");

        var seen = new HashSet<string>();
        foreach (ServiceTransaction transaction in plan.Transactions)
        {
            string[] backends = Elements(transaction.Script, "add", "backends");
            foreach (string service in Elements(transaction.Script, "add", "service-ips"))
            {
                string key = service[..service.IndexOf(" : ", StringComparison.Ordinal)];
                int count = int.Parse(service[(service.LastIndexOf('-') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                Assert.That(backends.Count(b => b.StartsWith(key + " . ", StringComparison.Ordinal)), Is.EqualTo(count), $"all slots of {key} are in its transaction");
                seen.Add(key);
            }
        }

        Assert.That(seen, Has.Count.EqualTo(100));
        Assert.That(plan.ElementsAdded, Is.EqualTo(100 + 250 + 100 + plan.Result.Hairpin.Count));
    }

    [Test]
    public void A_large_delta_is_split_too_with_each_frontends_change_in_one_transaction()
    {
        var before = Enumerable.Range(0, 40).Select(i => (new Frontend(IPAddress.Parse($"198.19.1.{i}"), ServiceProtocol.Tcp, 80), new[] { B($"198.18.0.{i}") })).ToArray();
        var after = before.Select(f => (f.Item1, new[] { f.Item2[0], B($"198.18.1.{f.Item1.ClusterIP.GetAddressBytes()[3]}") })).ToArray();
        ServiceRulesPlan first = ServiceRulesPlanner.Plan(null, Input(before), token: 1);

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input(after), token: 1, budget: 20);

        Assert.That(plan.Transactions, Has.Count.GreaterThan(3));
        Assert.That(plan.FullLoad, Is.False);
        Assert.That(plan.Transactions.Select(t => t.ElementsAdded + t.ElementsRemoved), Has.All.LessThanOrEqualTo(20));
        foreach (ServiceTransaction transaction in plan.Transactions)
        {
            Assert.That(Elements(transaction.Script, "add", "service-ips"), Has.Length.EqualTo(Elements(transaction.Script, "add", "backends").Length), "each frontend's new slot travels with its switch to lb-2");
            Assert.That(Elements(transaction.Script, "delete", "service-ips"), Has.Length.EqualTo(Elements(transaction.Script, "add", "service-ips").Length));
        }
    }

    [Test]
    public void IPv6_services_render_for_the_ip6_table()
    {
        var frontend = new Frontend(IPAddress.Parse("2001:db8:ff::17"), ServiceProtocol.Tcp, 80);
        var input = new ServiceRulesInput(
            IPNetwork.Parse("2001:db8:ff::/112"),
            [PodNetwork, IPNetwork.Parse("2001:db8:100::/48")],
            new Dictionary<Frontend, IReadOnlyList<Backend>>
            {
                [frontend] = [B("2001:db8:100:1::5"), B("2001:db8:100:2::5")],
                [Web] = [A1], // the other family's: not in this table
            },
            [frontend.ClusterIP, Web.ClusterIP]);

        string script = Script(ServiceRulesPlanner.Plan(null, input, token: 9));

        Assert.That(script, Does.StartWith("table ip6 overlay-services {}\ndelete table ip6 overlay-services\ntable ip6 overlay-services {\n"));
        Assert.That(script, Does.Contain("map backends { typeof ip6 daddr . meta l4proto . th dport . numgen random mod 1 : ip6 daddr . th dport; }"));
        Assert.That(script, Does.Contain("set pod-networks { type ipv6_addr; flags interval; elements = { 2001:db8:100::/48 }; }"));
        Assert.That(script, Does.Contain("chain lb-2 { dnat ip6 to ip6 daddr . meta l4proto . th dport . numgen random mod 2 map @backends; }"));
        Assert.That(Elements(script, "add", "backends"), Is.EqualTo(new[]
        {
            "2001:db8:ff::17 . tcp . 80 . 0 : 2001:db8:100:1::5 . 8080",
            "2001:db8:ff::17 . tcp . 80 . 1 : 2001:db8:100:2::5 . 8080",
        }));
        Assert.That(Elements(script, "add", "cluster-ips"), Is.EqualTo(new[] { "2001:db8:ff::17" }));
        Assert.That(script, Does.Not.Contain("198."));
    }

    [Test]
    public void A_service_with_more_endpoints_than_the_table_has_chains_reloads_it_with_more()
    {
        ServiceRulesPlan first = Apply(Input((Web, [A1])));
        Backend[] many = [.. Enumerable.Range(0, 70).Select(i => B($"198.18.9.{i}"))];

        ServiceRulesPlan plan = ServiceRulesPlanner.Plan(first.Result, Input((Web, many)), token: 3);

        Assert.That(first.Result.LbChains, Is.EqualTo(64));
        Assert.That(plan.FullLoad, Is.True);
        Assert.That(plan.Result.LbChains, Is.EqualTo(128));
        Assert.That(Script(plan), Does.Contain("chain lb-128 {").And.Not.Contain("lb-129"));
        Assert.That(Elements(Script(plan), "add", "service-ips"), Is.EqualTo(new[] { "198.19.0.23 . tcp . 80 : goto lb-70" }));
        Assert.That(ServiceRulesPlanner.Plan(plan.Result, Input((Web, [A1, A2])), token: 4).FullLoad, Is.False, "and keeps them");
    }

    [Test]
    public void Slots_keep_kept_backends_in_place_and_fill_holes_in_order()
    {
        Assert.That(ServiceRulesPlanner.AssignSlots([A1, A2, A3], [A3, A4, A1]), Is.EqualTo(new[] { A1, A4, A3 }));
        Assert.That(ServiceRulesPlanner.AssignSlots([A1, A2, A3, A4], [A4, A1]), Is.EqualTo(new[] { A1, A4 }));
        Assert.That(ServiceRulesPlanner.AssignSlots([A1], []), Is.Empty);
        Assert.That(ServiceRulesPlanner.AssignSlots([], [A2, A1]), Is.EqualTo(new[] { A2, A1 }));
    }

    [Test]
    public void Only_endpoints_in_the_nodes_own_subnet_go_into_the_hairpin_set_and_a_moved_subnet_reloads()
    {
        ServiceRulesInput local1 = Input((Web, [A1, A2, A3])) with { LocalNetworks = [IPNetwork.Parse("198.18.1.0/24")] };
        ServiceRulesPlan first = Apply(local1);

        ServiceRulesInput moved = local1 with { LocalNetworks = [IPNetwork.Parse("198.18.2.0/24")] };
        ServiceRulesPlan afterMove = ServiceRulesPlanner.Plan(first.Result, moved, token: 78);
        ServiceRulesPlan add = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A1, A2, A3]), (Resolver, [B("198.18.1.9", 53), A4])) with { LocalNetworks = local1.LocalNetworks }, token: 79);

        Assert.That(Elements(Script(first), "add", "hairpin"), Is.EqualTo(new[] { "198.18.1.5 . 198.18.1.5" }), "a pod on another node never reaches itself through this node");
        Assert.That(first.Result.Hairpin, Is.EqualTo(new[] { A1.Address }), "what the complete check expects");
        Assert.That(afterMove.FullLoad, Is.True);
        Assert.That(Elements(Script(afterMove), "add", "hairpin"), Is.EqualTo(new[] { "198.18.2.5 . 198.18.2.5" }));
        Assert.That(add.FullLoad, Is.False);
        Assert.That(Elements(Script(add), "add", "hairpin"), Is.EqualTo(new[] { "198.18.1.9 . 198.18.1.9" }));
    }

    [Test]
    public void The_cluster_DNS_redirect_is_loaded_with_the_skeleton_and_a_changed_listener_reloads_the_table()
    {
        var dns = new ClusterDnsRedirect(IPAddress.Parse("198.19.0.10"), IPAddress.Parse("198.18.1.0"));
        ServiceRulesInput withDns = Input((Web, [A1])) with { ClusterDns = dns };
        ServiceRulesPlan first = Apply(withDns);

        ServiceRulesPlan unchanged = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A1, A2])) with { ClusterDns = dns }, token: 78);
        ServiceRulesPlan moved = ServiceRulesPlanner.Plan(first.Result, withDns with { ClusterDns = dns with { Listener = IPAddress.Parse("198.18.2.0") } }, token: 79);
        ServiceRulesPlan off = ServiceRulesPlanner.Plan(first.Result, Input((Web, [A1])), token: 80);

        Assert.That(Script(first), Does.Contain("elements = { 198.19.0.10 . udp . 53 : 198.18.1.0 . 53, 198.19.0.10 . tcp . 53 : 198.18.1.0 . 53 }"));
        Assert.That(Script(first), Does.Contain("dnat ip to ip daddr . meta l4proto . th dport map @cluster-dns"));
        Assert.That(first.Result.ClusterDns, Is.EqualTo(dns));
        Assert.That(unchanged.FullLoad, Is.False, "a service change keeps the redirect");
        Assert.That(Script(unchanged), Does.Not.Contain("cluster-dns {"));
        Assert.That(moved.FullLoad, Is.True);
        Assert.That(Script(moved), Does.Contain("198.19.0.10 . udp . 53 : 198.18.2.0 . 53"));
        Assert.That(off.FullLoad, Is.True);
        Assert.That(Script(off), Does.Contain("map cluster-dns { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }"), "an empty map: nothing redirected");
    }
}
