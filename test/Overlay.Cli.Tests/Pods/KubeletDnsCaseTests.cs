using Overlay.Cli.Pods;

namespace Overlay.Cli.Tests.Pods;

/// <summary>
/// The test cases of the kubelet's pkg/kubelet/network/dns/dns_test.go (kubernetes/kubernetes, read at commit
/// 04791b49) that apply to a pod run here, with their inputs and expected outputs. Addresses are moved into the
/// documentation ranges this project's tests use (1.2.3.4 → 192.0.2.4, 5.6.7.8 → 198.51.100.8, 10.0.0.10 →
/// 198.18.0.10, 8.8.8.8 → 192.0.2.8 ...); each case names the kubelet test it comes from.
/// </summary>
public sealed class KubeletDnsCaseTests
{
    private static IEnumerable<TestCaseData> ResolvConfCases()
    {
        // TestParseResolvConf: (data, nameservers, searches, options).
        static TestCaseData Case(string name, string data, string[] nameservers, string[] searches, string[] options) =>
            new TestCaseData(data, nameservers, searches, options).SetName(name);

        yield return Case("An empty file reads as nothing", "", [], [], []);
        yield return Case("A blank line reads as nothing", " ", [], [], []);
        yield return Case("A newline reads as nothing", "\n", [], [], []);
        yield return Case("Tabs and a newline read as nothing", "\t\n\t", [], [], []);
        yield return Case("A comment reads as nothing", "#comment\n", [], [], []);
        yield return Case("An indented comment reads as nothing", " #comment\n", [], [], []);
        yield return Case("Two comments read as nothing", "#comment\n#comment", [], [], []);
        yield return Case("A nameserver with a search line of no domains", "#comment\nnameserver 192.0.2.4\nsearch", ["192.0.2.4"], [], []);
        yield return Case("One nameserver", "nameserver 192.0.2.4", ["192.0.2.4"], [], []);
        yield return Case("A nameserver line led by a space", " nameserver 192.0.2.4", ["192.0.2.4"], [], []);
        yield return Case("A nameserver line led by a tab", "\tnameserver 192.0.2.4", ["192.0.2.4"], [], []);
        yield return Case("A nameserver after a tab", "nameserver\t192.0.2.4", ["192.0.2.4"], [], []);
        yield return Case("A nameserver after spaces and a tab", "nameserver \t 192.0.2.4", ["192.0.2.4"], [], []);
        yield return Case("Nameserver lines add up", "nameserver 192.0.2.4\nnameserver 198.51.100.8", ["192.0.2.4", "198.51.100.8"], [], []);
        yield return Case("A comment after a nameserver is ignored", "nameserver 192.0.2.4 #comment", ["192.0.2.4"], [], []);
        yield return Case("A search line of no domains reads as none", "search ", [], [], []);
        yield return Case("One search domain", "search foo", [], ["foo"], []);
        yield return Case("Two search domains", "search foo bar", [], ["foo", "bar"], []);
        yield return Case("A search domain loses its trailing dot", "search foo. bar", [], ["foo", "bar"], []);
        yield return Case("Three search domains", "search foo bar bat\n", [], ["foo", "bar", "bat"], []);
        yield return Case("The last search line wins", "search foo\nsearch bar", [], ["bar"], []);
        yield return Case("A nameserver and search domains", "nameserver 192.0.2.4\nsearch foo bar", ["192.0.2.4"], ["foo", "bar"], []);
        yield return Case("Nameservers add up while the last search line wins",
            "nameserver 192.0.2.4\nsearch foo\nnameserver 198.51.100.8\nsearch bar", ["192.0.2.4", "198.51.100.8"], ["bar"], []);
        yield return Case("Comments and an unknown keyword among the lines",
            "#comment\nnameserver 192.0.2.4\n#comment\nsearch foo\ncomment", ["192.0.2.4"], ["foo"], []);
        yield return Case("An options line of no options reads as none", "options ", [], [], []);
        yield return Case("Two options", "options ndots:5 attempts:2", [], [], ["ndots:5", "attempts:2"]);
        yield return Case("A later options line replaces an option of the same name",
            "options ndots:1\noptions ndots:5 attempts:3", [], [], ["ndots:5", "attempts:3"]);
        yield return Case("Nameservers, the last search line and options together",
            "nameserver 192.0.2.4\nsearch foo\nnameserver 198.51.100.8\nsearch bar\noptions ndots:5 attempts:4",
            ["192.0.2.4", "198.51.100.8"], ["bar"], ["ndots:5", "attempts:4"]);

        // Newer kubelets (parseResolvConf with appendOptions, as kindnet copies it from kubelet commit 2108e54f):
        // a lone "." search entry is left out, and options lines add up.
        yield return Case("A lone dot in the search line is left out", "search . foo.", [], ["foo"], []);
        yield return Case("Options lines add up, a later value replacing an earlier one",
            "options ndots:1 rotate\noptions ndots:2", [], [], ["rotate", "ndots:2"]);
    }

    [TestCaseSource(nameof(ResolvConfCases))]
    public void The_node_resolv_conf_is_read_as_the_kubelet_reads_it(string data, string[] nameservers, string[] searches, string[] options)
    {
        ResolvConf resolv = ResolvConf.Parse(data);

        Assert.That(resolv.Nameservers, Is.EqualTo(nameservers), "nameservers");
        Assert.That(resolv.Searches, Is.EqualTo(searches), "searches");
        Assert.That(resolv.Options, Is.EqualTo(options), "options");
    }

    // TestParseResolvConf's error cases: "nameserver empty", "nameserver and search empty".
    [TestCase("#comment\nnameserver")]
    [TestCase("#comment\nnameserver\nsearch")]
    public void A_nameserver_line_without_an_address_is_an_error(string data)
    {
        Assert.Throws<FormatException>(() => ResolvConf.Parse(data));
    }

    private static IEnumerable<TestCaseData> SearchLimitCases()
    {
        // TestFormDNSSearchFitsLimits, at today's limits (ExpandedDNSConfig, GA: 32 domains, 2048 characters).
        // 2048 = 128 + 127 * 15 + 15 spaces.
        string[] line2048 = [new string('A', 128), .. Enumerable.Repeat(new string('A', 127), 15)];
        string[] line2050 = [.. line2048, "B"];
        string[] cluster = ["testNS.svc.TEST", "svc.TEST", "TEST"];
        string[] five = [.. cluster, "AAA", "BBB"];
        string[] withLong = [.. cluster, "AAA", new string('B', 256), "BBB"];
        string[] seven = [.. cluster, "AAA", "BBB", "CCC", "DDD"];
        string[] upTo32 = [.. cluster, .. Enumerable.Range(4, 29).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        string[] upTo33 = [.. upTo32, "33"];

        yield return new TestCaseData(cluster, cluster, false).SetName("Three search domains are kept (valid: 3 search paths)");
        yield return new TestCaseData(five, five, false).SetName("Five search domains are kept (valid: 5 search paths)");
        yield return new TestCaseData(withLong, five, true).SetName("A search domain of 256 characters is left out (invalid: 256 characters search path)");
        yield return new TestCaseData(line2048, line2048, false).SetName("A search line of 2048 characters is kept (valid: 2048 characters)");
        yield return new TestCaseData(line2050, line2048, true).SetName("A search line of 2050 characters loses its last domain (invalid: 2050 characters)");
        yield return new TestCaseData(seven, seven, false).SetName("Seven search domains are kept, the legacy cut to six being gone (invalid: 7 search paths, legacy)");
        yield return new TestCaseData(upTo32, upTo32, false).SetName("Thirty-two search domains are kept (valid: 32 search paths)");
        yield return new TestCaseData(upTo33, upTo32, true).SetName("A thirty-third search domain is left out (invalid: 33 search paths)");
    }

    [TestCaseSource(nameof(SearchLimitCases))]
    public void The_merged_search_list_is_cut_to_the_kubelets_limits(string[] searches, string[] expected, bool warned)
    {
        var warnings = new List<PodDnsWarning>();

        IReadOnlyList<string> kept = PodDns.FitSearches(searches, warnings);

        Assert.That(kept, Is.EqualTo(expected));
        Assert.That(warnings.Select(w => w.Message), warned
            ? Is.EqualTo(new[] { $"the search domains went past the limits (32 domains of at most 253 characters, 2048 characters in all), so some were left out; the search line is: {string.Join(" ", expected)}" })
            : Is.Empty);
    }

    // TestFormDNSNameserversFitsLimits.
    [TestCase(new[] { "127.0.0.1" }, new[] { "127.0.0.1" }, false, TestName = "One nameserver is kept (valid: 1 nameserver)")]
    [TestCase(new[] { "127.0.0.1", "198.18.0.10", "192.0.2.8" }, new[] { "127.0.0.1", "198.18.0.10", "192.0.2.8" }, false,
        TestName = "Three nameservers are kept (valid: 3 nameservers)")]
    [TestCase(new[] { "127.0.0.1", "198.18.0.10", "192.0.2.8", "192.0.2.4" }, new[] { "127.0.0.1", "198.18.0.10", "192.0.2.8" }, true,
        TestName = "Four merged nameservers are cut to three with a warning (invalid: 4 nameservers, trimmed to 3)")]
    public void The_merged_nameservers_are_cut_to_three(string[] nameservers, string[] expected, bool warned)
    {
        var warnings = new List<PodDnsWarning>();

        Assert.That(PodDns.FitNameservers(nameservers, warnings), Is.EqualTo(expected));
        Assert.That(warnings.Count, Is.EqualTo(warned ? 1 : 0));
    }

    private static IEnumerable<TestCaseData> OptionCases()
    {
        // TestMergeDNSOptions. The kubelet merges through a map and compares as sets; our order is fixed: the
        // base's order, a replaced option in its place, new names in the pod's order.
        yield return new TestCaseData(new[] { "ndots:5", "debug" }, Array.Empty<DnsOption>(), new[] { "ndots:5", "debug" })
            .SetName("No pod options keep the base's (Empty dnsConfigOptions)");
        yield return new TestCaseData(new[] { "ndots:5", "debug" }, new[] { new DnsOption("single-request"), new DnsOption("attempts", "3") },
                new[] { "ndots:5", "debug", "single-request", "attempts:3" })
            .SetName("New pod options follow the base's (No duplicated entries)");
        yield return new TestCaseData(new[] { "ndots:5", "debug" },
                new[] { new DnsOption("ndots", "3"), new DnsOption("debug"), new DnsOption("single-request"), new DnsOption("attempts", "3") },
                new[] { "ndots:3", "debug", "single-request", "attempts:3" })
            .SetName("A pod option replaces the base option of its name (Overwrite duplicated entries)");
    }

    [TestCaseSource(nameof(OptionCases))]
    public void Options_merge_by_name_with_the_pods_value_winning(string[] baseOptions, DnsOption[] podOptions, string[] expected)
    {
        Assert.That(PodDns.MergeOptions(baseOptions, podOptions), Is.EqualTo(expected));
    }

    // TestGetPodDNSType.
    [TestCase(DnsPolicy.ClusterFirst, false, ResolvSource.Cluster, TestName = "ClusterFirst without host network is the cluster's (valid DNSClusterFirst without hostnetwork)")]
    [TestCase(DnsPolicy.ClusterFirstWithHostNet, true, ResolvSource.Cluster, TestName = "ClusterFirstWithHostNet with host network is the cluster's (valid DNSClusterFirstWithHostNet with hostnetwork)")]
    [TestCase(DnsPolicy.ClusterFirstWithHostNet, false, ResolvSource.Cluster, TestName = "ClusterFirstWithHostNet without host network is the cluster's (valid DNSClusterFirstWithHostNet without hostnetwork)")]
    [TestCase(DnsPolicy.Default, false, ResolvSource.Node, TestName = "Default without host network is the node's (valid DNSDefault without hostnetwork)")]
    [TestCase(DnsPolicy.Default, true, ResolvSource.Node, TestName = "Default with host network is the node's (valid DNSDefault with hostnetwork)")]
    [TestCase(DnsPolicy.ClusterFirst, true, ResolvSource.Node, TestName = "ClusterFirst with host network falls back to the node's (DNSClusterFirst with hostnetwork, fallback to DNSDefault)")]
    [TestCase(DnsPolicy.None, false, ResolvSource.None, TestName = "None is nothing (valid DNSNone)")]
    public void Each_policy_takes_the_resolv_conf_from_where_the_kubelet_takes_it(DnsPolicy policy, bool hostNetwork, ResolvSource expected)
    {
        Assert.That(PodDns.SourceOf(policy, hostNetwork), Is.EqualTo(expected));
    }

    [Test]
    public void An_unknown_policy_is_not_a_policy()
    {
        // TestGetPodDNSType: "invalid DNS policy, should return error"; pod run refuses it with exit 2.
        Assert.That(DnsPolicies.TryParse("invalidPolicy", out _), Is.False);
    }

    private static readonly PodDnsInputs TestPods = new() { ClusterDns = "203.0.113.1", ClusterDomain = "kubernetes.io", Namespace = "", HostNetwork = true };

    [Test]
    public void Without_a_node_resolv_conf_cluster_pods_get_the_cluster_and_the_others_the_local_resolver()
    {
        // testGetPodDNS, first half: no resolv.conf (ResolverConfig ""), pods in no namespace, host network but pod 2.
        ResolvConf pod0 = PodDns.Resolve(DnsPolicy.ClusterFirstWithHostNet, TestPods, null);
        ResolvConf pod1 = PodDns.Resolve(DnsPolicy.ClusterFirst, TestPods, null);
        ResolvConf pod2 = PodDns.Resolve(DnsPolicy.ClusterFirst, TestPods with { HostNetwork = false }, null);
        ResolvConf pod3 = PodDns.Resolve(DnsPolicy.Default, TestPods, null);

        Assert.That(pod0.Nameservers, Is.EqualTo(new[] { "203.0.113.1" }), "pod0");
        Assert.That(pod0.Searches, Is.EqualTo(new[] { ".svc.kubernetes.io", "svc.kubernetes.io", "kubernetes.io" }), "pod0");
        Assert.That(pod1.Nameservers, Is.EqualTo(new[] { "127.0.0.1" }), "pod1");
        Assert.That(pod1.Searches, Is.EqualTo(new[] { "." }), "pod1");
        Assert.That(pod2.Nameservers, Is.EqualTo(new[] { "203.0.113.1" }), "pod2");
        Assert.That(pod2.Searches, Is.EqualTo(new[] { ".svc.kubernetes.io", "svc.kubernetes.io", "kubernetes.io" }), "pod2");
        Assert.That(pod3.Nameservers, Is.EqualTo(new[] { "127.0.0.1" }), "pod3");
        Assert.That(pod3.Searches, Is.EqualTo(new[] { "." }), "pod3");
    }

    [Test]
    public void With_a_node_resolv_conf_cluster_pods_get_the_cluster_search_domains_before_the_nodes()
    {
        // testGetPodDNS, second half: the node's search domains follow the three cluster ones.
        ResolvConf node = ResolvConf.Parse("nameserver 192.0.2.53\nsearch corp.example lab.example\n");

        ResolvConf pod0 = PodDns.Resolve(DnsPolicy.ClusterFirstWithHostNet, TestPods, node);
        ResolvConf pod2 = PodDns.Resolve(DnsPolicy.ClusterFirst, TestPods with { HostNetwork = false }, node);

        string[] searches = [".svc.kubernetes.io", "svc.kubernetes.io", "kubernetes.io", "corp.example", "lab.example"];
        Assert.That(pod0.Nameservers, Is.EqualTo(new[] { "203.0.113.1" }), "pod0");
        Assert.That(pod0.Searches, Is.EqualTo(searches), "pod0");
        Assert.That(pod2.Nameservers, Is.EqualTo(new[] { "203.0.113.1" }), "pod2");
        Assert.That(pod2.Searches, Is.EqualTo(searches), "pod2");
    }

    private static readonly ResolvConf CustomNode = ResolvConf.Parse("nameserver 192.0.2.8\nsearch host.domain\n");

    private static readonly PodDnsInputs CustomPod = new()
    {
        ClusterDns = "198.18.0.10",
        ClusterDomain = "kubernetes.io",
        Namespace = "testNS",
        Nameservers = ["198.18.0.11"],
        Searches = ["my.domain"],
        Options = [new DnsOption("ndots", "3"), new DnsOption("debug")],
    };

    [Test]
    public void None_without_a_dnsConfig_is_refused_here()
    {
        // TestGetPodDNSCustom, "DNSNone without DNSConfig should have empty DNS settings": the kubelet would write an
        // empty file, but the API server never lets such a pod through, and neither does pod run (exit 2).
        Assert.Throws<InvalidPodSpecException>(() => PodDns.Resolve(DnsPolicy.None, new PodDnsInputs(), CustomNode));
    }

    [Test]
    public void None_with_a_dnsConfig_has_only_the_pods_settings()
    {
        // TestGetPodDNSCustom, "DNSNone with DNSConfig should have a merged DNS settings".
        var pod = CustomPod with { Nameservers = ["203.0.113.1"], Searches = ["my.domain", "second.domain"] };

        ResolvConf resolv = PodDns.Resolve(DnsPolicy.None, pod, CustomNode);

        Assert.That(resolv, Is.EqualTo(new ResolvConf(["203.0.113.1"], ["my.domain", "second.domain"], ["ndots:3", "debug"])).Using<ResolvConf>(Same));
    }

    [Test]
    public void ClusterFirst_with_a_dnsConfig_merges_the_pods_settings_after_the_clusters()
    {
        // TestGetPodDNSCustom, "DNSClusterFirst with DNSConfig should have a merged DNS settings".
        ResolvConf resolv = PodDns.Resolve(DnsPolicy.ClusterFirst, CustomPod, CustomNode);

        Assert.That(resolv, Is.EqualTo(new ResolvConf(
            ["198.18.0.10", "198.18.0.11"],
            ["testNS.svc.kubernetes.io", "svc.kubernetes.io", "kubernetes.io", "host.domain", "my.domain"],
            ["ndots:3", "debug"])).Using<ResolvConf>(Same));
    }

    [Test]
    public void ClusterFirstWithHostNet_on_the_host_network_with_a_dnsConfig_merges_the_same_way()
    {
        // TestGetPodDNSCustom, "DNSClusterFirstWithHostNet with DNSConfig should have a merged DNS settings".
        ResolvConf resolv = PodDns.Resolve(DnsPolicy.ClusterFirstWithHostNet, CustomPod with { HostNetwork = true }, CustomNode);

        Assert.That(resolv, Is.EqualTo(new ResolvConf(
            ["198.18.0.10", "198.18.0.11"],
            ["testNS.svc.kubernetes.io", "svc.kubernetes.io", "kubernetes.io", "host.domain", "my.domain"],
            ["ndots:3", "debug"])).Using<ResolvConf>(Same));
    }

    [Test]
    public void Default_with_a_dnsConfig_merges_the_pods_settings_after_the_nodes()
    {
        // TestGetPodDNSCustom, "DNSDefault with DNSConfig should have a merged DNS settings".
        ResolvConf resolv = PodDns.Resolve(DnsPolicy.Default, CustomPod, CustomNode);

        Assert.That(resolv, Is.EqualTo(new ResolvConf(["192.0.2.8", "198.18.0.11"], ["host.domain", "my.domain"], ["ndots:3", "debug"])).Using<ResolvConf>(Same));
    }

    private static bool Same(ResolvConf a, ResolvConf b) =>
        a.Nameservers.SequenceEqual(b.Nameservers) && a.Searches.SequenceEqual(b.Searches) && a.Options.SequenceEqual(b.Options);
}
