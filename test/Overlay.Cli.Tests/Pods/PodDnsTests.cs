using System.Net;
using Overlay.Cli.Pods;

namespace Overlay.Cli.Tests.Pods;

public sealed class PodDnsTests
{
    private static readonly ResolvConf Node = ResolvConf.Parse(
        "# the node's resolver\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example.\noptions timeout:2 rotate\n");

    private static readonly PodDnsInputs Cluster = new() { ClusterDns = "198.18.255.10" };

    [Test]
    public void ClusterFirst_uses_the_cluster_DNS_the_cluster_search_domains_then_the_nodes_and_ndots_5()
    {
        string text = PodDns.Render(DnsPolicy.ClusterFirst, Cluster, Node);

        Assert.That(text, Is.EqualTo(
            "nameserver 198.18.255.10\n"
            + "search default.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
            + "options ndots:5\n"));
    }

    [Test]
    public void ClusterFirst_takes_the_namespace_and_cluster_domain_given()
    {
        var inputs = Cluster with { Namespace = "shop", ClusterDomain = "k8s.example" };

        string text = PodDns.Render(DnsPolicy.ClusterFirst, inputs, ResolvConf.Empty);

        Assert.That(text, Is.EqualTo("nameserver 198.18.255.10\nsearch shop.svc.k8s.example svc.k8s.example k8s.example\noptions ndots:5\n"));
    }

    [Test]
    public void ClusterFirst_appends_the_pods_settings_after_the_base_ones()
    {
        var inputs = Cluster with
        {
            Nameservers = ["203.0.113.53"],
            Searches = ["my.dns.search.suffix"],
            Options = [new DnsOption("ndots", "2"), new DnsOption("edns0")],
        };

        string text = PodDns.Render(DnsPolicy.ClusterFirst, inputs, ResolvConf.Empty);

        Assert.That(text, Is.EqualTo(
            "nameserver 198.18.255.10\nnameserver 203.0.113.53\n"
            + "search default.svc.cluster.local svc.cluster.local cluster.local my.dns.search.suffix\n"
            + "options ndots:2 edns0\n"));
    }

    [Test]
    public void Default_copies_the_nodes_resolv_conf()
    {
        string text = PodDns.Render(DnsPolicy.Default, new PodDnsInputs(), Node);

        Assert.That(text, Is.EqualTo("nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions timeout:2 rotate\n"));
    }

    [Test]
    public void Default_merges_the_pods_settings_into_the_nodes()
    {
        var inputs = new PodDnsInputs
        {
            Nameservers = ["192.0.2.54", "203.0.113.53"],
            Searches = ["lab.example", "extra.example"],
            Options = [new DnsOption("timeout", "5"), new DnsOption("attempts", "3")],
        };

        string text = PodDns.Render(DnsPolicy.Default, inputs, Node);

        Assert.That(text, Is.EqualTo(
            "nameserver 192.0.2.53\nnameserver 192.0.2.54\nnameserver 203.0.113.53\n"
            + "search corp.example lab.example extra.example\n"
            + "options timeout:5 rotate attempts:3\n"));
    }

    [Test]
    public void None_holds_only_the_pods_settings()
    {
        var inputs = new PodDnsInputs
        {
            Nameservers = ["192.0.2.1"],
            Searches = ["ns1.svc.cluster-domain.example", "my.dns.search.suffix"],
            Options = [new DnsOption("ndots", "2"), new DnsOption("edns0")],
        };

        string text = PodDns.Render(DnsPolicy.None, inputs, Node);

        Assert.That(text, Is.EqualTo("nameserver 192.0.2.1\nsearch ns1.svc.cluster-domain.example my.dns.search.suffix\noptions ndots:2 edns0\n"));
    }

    [Test]
    public void None_with_only_a_nameserver_writes_no_search_or_options_line()
    {
        string text = PodDns.Render(DnsPolicy.None, new PodDnsInputs { Nameservers = ["2001:db8::53"] }, Node);

        Assert.That(text, Is.EqualTo("nameserver 2001:db8::53\n"));
    }

    [Test]
    public void Duplicate_nameservers_and_searches_keep_their_first_place()
    {
        var inputs = new PodDnsInputs
        {
            Nameservers = ["192.0.2.1", "192.0.2.2", "192.0.2.1"],
            Searches = ["b.example", "a.example", "b.example"],
        };

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.None, inputs, ResolvConf.Empty);

        Assert.That(resolv.Nameservers, Is.EqualTo(new[] { "192.0.2.1", "192.0.2.2" }));
        Assert.That(resolv.Searches, Is.EqualTo(new[] { "b.example", "a.example" }));
    }

    [Test]
    public void A_pod_search_domain_keeps_its_trailing_dot_and_is_not_the_same_as_one_without()
    {
        // The kubelet appends dnsConfig.searches as written; only the node's resolv.conf loses its trailing dots.
        var inputs = new PodDnsInputs { Nameservers = ["192.0.2.1"], Searches = ["a.example", "a.example.", "cluster.local."] };

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.None, inputs, ResolvConf.Empty);

        Assert.That(resolv.Searches, Is.EqualTo(new[] { "a.example", "a.example.", "cluster.local." }));
    }

    [Test]
    public void A_pod_nameserver_is_written_as_given_and_only_the_same_spelling_counts_as_a_duplicate()
    {
        // The kubelet writes the cluster DNS address in canonical form and the pod's nameservers as written.
        var inputs = Cluster with { ClusterDns = "2001:DB8::A", Nameservers = ["2001:db8::a", "2001:DB8:0::A", "198.18.255.10"] };

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.ClusterFirst, inputs, ResolvConf.Empty, []);

        Assert.That(resolv.Nameservers, Is.EqualTo(new[] { "2001:db8::a", "2001:DB8:0::A", "198.18.255.10" }));
    }

    [Test]
    public void A_cluster_search_domain_repeated_on_the_node_appears_once()
    {
        ResolvConf node = ResolvConf.Parse("nameserver 192.0.2.53\nsearch cluster.local corp.example\n");

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.ClusterFirst, Cluster, node);

        Assert.That(resolv.Searches, Is.EqualTo(new[] { "default.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example" }));
    }

    [Test]
    public void A_repeated_option_name_keeps_one_entry_and_the_pods_value_wins()
    {
        var inputs = Cluster with { Options = [new DnsOption("ndots", "1"), new DnsOption("ndots", "3"), new DnsOption("use-vc")] };

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.ClusterFirst, inputs, ResolvConf.Empty);

        Assert.That(resolv.Options, Is.EqualTo(new[] { "ndots:3", "use-vc" }));
    }

    [Test]
    public void A_pod_option_without_a_value_replaces_a_base_option_with_one()
    {
        IReadOnlyList<string> merged = PodDns.MergeOptions(["ndots:5", "timeout:2"], [new DnsOption("timeout")]);

        Assert.That(merged, Is.EqualTo(new[] { "ndots:5", "timeout" }));
    }

    [Test]
    public void Three_nameservers_are_accepted()
    {
        var inputs = new PodDnsInputs { Nameservers = ["192.0.2.1", "192.0.2.2", "192.0.2.3"] };

        Assert.That(PodDns.Resolve(DnsPolicy.None, inputs, ResolvConf.Empty).Nameservers, Has.Count.EqualTo(3));
    }

    [Test]
    public void A_fourth_pod_nameserver_is_refused()
    {
        var inputs = new PodDnsInputs { Nameservers = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"] };

        var error = Assert.Throws<InvalidPodSpecException>(() => PodDns.Resolve(DnsPolicy.None, inputs, ResolvConf.Empty));

        Assert.That(error!.Message, Is.EqualTo("4 --nameserver given, but a pod has at most 3 nameservers"));
    }

    [Test]
    public void Nameservers_that_merge_past_three_are_cut_to_the_first_three_with_a_warning()
    {
        var inputs = Cluster with { Nameservers = ["192.0.2.1", "192.0.2.2", "192.0.2.3"] };
        var warnings = new List<PodDnsWarning>();

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.ClusterFirst, inputs, ResolvConf.Empty, warnings);

        Assert.That(resolv.Nameservers, Is.EqualTo(new[] { "198.18.255.10", "192.0.2.1", "192.0.2.2" }));
        Assert.That(warnings, Is.EqualTo(new[]
        {
            new PodDnsWarning(PodDnsWarningKind.NameserversCut,
                "the nameservers merge to 4 (198.18.255.10 192.0.2.1 192.0.2.2 192.0.2.3), but a pod has at most 3; its resolv.conf gets the first 3: 198.18.255.10 192.0.2.1 192.0.2.2"),
        }));
    }

    [Test]
    public void A_node_resolv_conf_with_two_servers_and_two_pod_servers_gives_the_first_three_under_Default()
    {
        var one = new PodDnsInputs { Nameservers = ["203.0.113.53"] };
        var two = new PodDnsInputs { Nameservers = ["203.0.113.53", "203.0.113.54"] };
        var warnings = new List<PodDnsWarning>();

        Assert.That(PodDns.Resolve(DnsPolicy.Default, one, Node, warnings).Nameservers, Has.Count.EqualTo(3));
        Assert.That(warnings, Is.Empty);
        Assert.That(PodDns.Resolve(DnsPolicy.Default, two, Node, warnings).Nameservers, Is.EqualTo(new[] { "192.0.2.53", "192.0.2.54", "203.0.113.53" }));
        Assert.That(warnings.Select(w => w.Kind), Is.EqualTo(new[] { PodDnsWarningKind.NameserversCut }));
    }

    [Test]
    public void Six_search_domains_are_accepted_and_a_seventh_is_refused()
    {
        string[] six = ["a.example", "b.example", "c.example", "d.example", "e.example", "f.example"];
        var inputs = new PodDnsInputs { Nameservers = ["192.0.2.1"], Searches = six };

        Assert.That(PodDns.Resolve(DnsPolicy.None, inputs, ResolvConf.Empty).Searches, Is.EqualTo(six));
        var error = Assert.Throws<InvalidPodSpecException>(() => PodDns.Resolve(DnsPolicy.None, inputs with { Searches = [.. six, "g.example"] }, ResolvConf.Empty));
        Assert.That(error!.Message, Is.EqualTo("7 --search given, but a pod has at most 6 search domains"));
    }

    [Test]
    public void Search_domains_that_merge_past_six_are_kept_as_the_kubelet_keeps_up_to_32()
    {
        var inputs = Cluster with { Searches = ["a.example", "b.example", "c.example", "d.example", "e.example", "f.example"] };
        var warnings = new List<PodDnsWarning>();

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.ClusterFirst, inputs, Node, warnings);

        Assert.That(resolv.Searches, Is.EqualTo(new[]
        {
            "default.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example", "lab.example",
            "a.example", "b.example", "c.example", "d.example", "e.example", "f.example",
        }));
        Assert.That(warnings, Is.Empty);
    }

    [Test]
    public void Duplicates_do_not_count_against_the_merged_limits()
    {
        var inputs = Cluster with { Nameservers = ["198.18.255.10", "192.0.2.1", "192.0.2.2"], Searches = ["cluster.local", "corp.example", "a.example"] };
        var warnings = new List<PodDnsWarning>();

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.ClusterFirst, inputs, Node, warnings);

        Assert.That(resolv.Nameservers, Has.Count.EqualTo(3));
        Assert.That(resolv.Searches, Has.Count.EqualTo(6));
        Assert.That(warnings, Is.Empty);
    }

    [Test]
    public void None_without_a_nameserver_is_refused()
    {
        var inputs = new PodDnsInputs { Searches = ["a.example"] };

        var error = Assert.Throws<InvalidPodSpecException>(() => PodDns.Resolve(DnsPolicy.None, inputs, Node));

        Assert.That(error!.Message, Is.EqualTo("--dns-policy None needs at least one --nameserver: with policy None the pod's nameserver list must hold at least one address"));
    }

    [TestCase(DnsPolicy.ClusterFirst)]
    [TestCase(DnsPolicy.ClusterFirstWithHostNet)]
    public void A_cluster_policy_without_a_cluster_DNS_falls_back_to_Default_with_a_warning(DnsPolicy policy)
    {
        var warnings = new List<PodDnsWarning>();

        string text = PodDns.Render(policy, new PodDnsInputs { Searches = ["extra.example"] }, Node, warnings);

        Assert.That(text, Is.EqualTo("nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example extra.example\noptions timeout:2 rotate\n"));
        Assert.That(warnings, Is.EqualTo(new[]
        {
            new PodDnsWarning(PodDnsWarningKind.ClusterDnsMissing,
                $"no cluster DNS address is known, so the pod cannot use --dns-policy {policy}; it gets Default's resolv.conf (the node's), as the kubelet does"),
        }));
    }

    [Test]
    public void A_host_network_pod_with_ClusterFirst_gets_the_nodes_resolv_conf_and_no_warning()
    {
        var warnings = new List<PodDnsWarning>();

        string text = PodDns.Render(DnsPolicy.ClusterFirst, Cluster with { HostNetwork = true }, Node, warnings);

        Assert.That(text, Is.EqualTo("nameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions timeout:2 rotate\n"));
        Assert.That(warnings, Is.Empty);
    }

    [Test]
    public void A_host_network_pod_with_ClusterFirstWithHostNet_gets_the_clusters()
    {
        string text = PodDns.Render(DnsPolicy.ClusterFirstWithHostNet, Cluster with { HostNetwork = true }, Node);

        Assert.That(text, Is.EqualTo(
            "nameserver 198.18.255.10\n"
            + "search default.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\n"
            + "options ndots:5\n"));
    }

    [Test]
    public void ClusterFirstWithHostNet_is_ClusterFirst_for_a_pod_of_its_own_network()
    {
        Assert.That(PodDns.Render(DnsPolicy.ClusterFirstWithHostNet, Cluster, Node), Is.EqualTo(PodDns.Render(DnsPolicy.ClusterFirst, Cluster, Node)));
    }

    [Test]
    public void An_empty_cluster_domain_gives_the_nodes_search_domains_alone()
    {
        string text = PodDns.Render(DnsPolicy.ClusterFirst, Cluster with { ClusterDomain = "" }, Node);

        Assert.That(text, Is.EqualTo("nameserver 198.18.255.10\nsearch corp.example lab.example\noptions ndots:5\n"));
    }

    [Test]
    public void A_cluster_domain_with_a_trailing_dot_is_used_as_given()
    {
        string text = PodDns.Render(DnsPolicy.ClusterFirst, Cluster with { ClusterDomain = "cluster.local." }, ResolvConf.Empty);

        Assert.That(text, Is.EqualTo("nameserver 198.18.255.10\nsearch default.svc.cluster.local. svc.cluster.local. cluster.local.\noptions ndots:5\n"));
    }

    [Test]
    public void Without_a_node_resolv_conf_Default_asks_the_local_resolver_once_per_node_address_family()
    {
        var dualStack = new PodDnsInputs { NodeAddresses = [IPAddress.Parse("198.51.100.1"), IPAddress.Parse("2001:db8::1")] };

        Assert.That(PodDns.Render(DnsPolicy.Default, new PodDnsInputs(), null), Is.EqualTo("nameserver 127.0.0.1\nsearch .\n"));
        Assert.That(PodDns.Render(DnsPolicy.Default, dualStack, null), Is.EqualTo("nameserver 127.0.0.1\nnameserver ::1\nsearch .\n"));
    }

    [Test]
    public void A_node_resolv_conf_repeating_a_nameserver_is_copied_as_it_is_unless_the_pod_has_a_dnsConfig()
    {
        ResolvConf node = ResolvConf.Parse("nameserver 192.0.2.53\nnameserver 192.0.2.53\n");

        Assert.That(PodDns.Resolve(DnsPolicy.Default, new PodDnsInputs(), node).Nameservers, Is.EqualTo(new[] { "192.0.2.53", "192.0.2.53" }));
        Assert.That(PodDns.Resolve(DnsPolicy.Default, new PodDnsInputs { Options = [new DnsOption("edns0")] }, node).Nameservers, Is.EqualTo(new[] { "192.0.2.53" }));
    }

    [TestCase("dns.example", "--nameserver 'dns.example' is not an IP address; a nameserver is given by address")]
    [TestCase("192.0.2.300", "--nameserver '192.0.2.300' is not an IP address; a nameserver is given by address")]
    [TestCase("198.18.255.010", "--nameserver '198.18.255.010' is not an IP address; a nameserver is given by address")]
    [TestCase("10.1", "--nameserver '10.1' is not an IP address; a nameserver is given by address")]
    public void A_nameserver_that_is_not_an_IP_is_refused(string server, string message)
    {
        var error = Assert.Throws<InvalidPodSpecException>(() => PodDns.Resolve(DnsPolicy.None, new PodDnsInputs { Nameservers = [server] }, ResolvConf.Empty));

        Assert.That(error!.Message, Is.EqualTo(message));
    }

    [TestCase("Upper.example")]
    [TestCase("-bad.example")]
    [TestCase("two..dots")]
    [TestCase("white space")]
    public void A_search_domain_that_is_not_a_DNS_name_is_refused(string search)
    {
        var inputs = new PodDnsInputs { Nameservers = ["192.0.2.1"], Searches = [search] };

        var error = Assert.Throws<InvalidPodSpecException>(() => PodDns.Resolve(DnsPolicy.None, inputs, ResolvConf.Empty));

        Assert.That(error!.Message, Does.StartWith($"--search '{search}' is not a DNS name"));
    }

    [Test]
    public void A_cluster_DNS_that_is_not_an_IP_is_refused()
    {
        var error = Assert.Throws<InvalidPodSpecException>(() => PodDns.Resolve(DnsPolicy.ClusterFirst, new PodDnsInputs { ClusterDns = "kube-dns" }, ResolvConf.Empty));

        Assert.That(error!.Message, Is.EqualTo("--cluster-dns 'kube-dns' is not an IP address"));
    }
}
