using System.Net;
using Overlay.Cli.Pods;

namespace Overlay.Cli.Tests.Pods;

/// <summary>
/// The cases of the kubelet's TestManagedHostsFileContent and TestNodeHostsFileContent (pkg/kubelet/kubelet_pods_test.go)
/// with addresses moved into the documentation ranges (123.45.67.89 → 203.0.113.89, the invalid 456.78.90.123 →
/// 198.51.100.123, 12.34.56.78 → 203.0.113.78, fd00::6 → 2001:db8::6).
/// </summary>
public sealed class KubeletHostsCaseTests
{
    private const string Localhost =
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n";

    private static readonly HostAlias FooBarBaz = new(IPAddress.Parse("203.0.113.89"), ["foo", "bar", "baz"]);

    private static readonly HostAlias ParkDooBoo = new(IPAddress.Parse("198.51.100.123"), ["park", "doo", "boo"]);

    [Test]
    public void A_pod_without_a_domain_has_its_address_and_name()
    {
        string text = PodHosts.Render("podFoo", [IPAddress.Parse("203.0.113.89")], []);

        Assert.That(text, Is.EqualTo("# Kubernetes-managed hosts file.\n" + Localhost + "203.0.113.89\tpodFoo\n"));
    }

    [Test]
    public void A_pod_with_a_domain_has_its_full_name_then_its_short_name()
    {
        string text = PodHosts.Render("podFoo", [IPAddress.Parse("203.0.113.1")], [], "domainFoo");

        Assert.That(text, Is.EqualTo("# Kubernetes-managed hosts file.\n" + Localhost + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n"));
    }

    [Test]
    public void Host_aliases_follow_the_pod_one_line_per_address_with_all_its_names()
    {
        string one = PodHosts.Render("podFoo", [IPAddress.Parse("203.0.113.1")], [FooBarBaz], "domainFoo");
        string two = PodHosts.Render("podFoo", [IPAddress.Parse("203.0.113.1")], [FooBarBaz, ParkDooBoo], "domainFoo");

        string head = "# Kubernetes-managed hosts file.\n" + Localhost + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n\n# Entries added by HostAliases.\n";
        Assert.That(one, Is.EqualTo(head + "203.0.113.89\tfoo\tbar\tbaz\n"));
        Assert.That(two, Is.EqualTo(head + "203.0.113.89\tfoo\tbar\tbaz\n198.51.100.123\tpark\tdoo\tboo\n"));
    }

    [Test]
    public void A_dual_stack_pod_has_a_line_per_address()
    {
        string text = PodHosts.Render("podFoo", [IPAddress.Parse("203.0.113.1"), IPAddress.Parse("2001:db8::6")], [], "domainFoo");

        Assert.That(text, Is.EqualTo("# Kubernetes-managed hosts file.\n" + Localhost
            + "203.0.113.1\tpodFoo.domainFoo\tpodFoo\n2001:db8::6\tpodFoo.domainFoo\tpodFoo\n"));
    }

    [Test]
    public void A_host_network_pod_gets_the_nodes_hosts_file_under_its_own_header()
    {
        string node = "# hosts file for testing.\n" + Localhost + "203.0.113.89\tsome.domain\n";

        Assert.That(PodHosts.RenderForHostNetwork(node, []), Is.EqualTo("# Kubernetes-managed hosts file (host network).\n" + node));
    }

    [Test]
    public void A_host_network_pod_gets_its_aliases_after_the_nodes_hosts_file()
    {
        string node = "# another hosts file for testing.\n" + Localhost + "203.0.113.78\tanother.domain\n";

        string text = PodHosts.RenderForHostNetwork(node, [FooBarBaz, ParkDooBoo]);

        Assert.That(text, Is.EqualTo("# Kubernetes-managed hosts file (host network).\n" + node
            + "\n# Entries added by HostAliases.\n203.0.113.89\tfoo\tbar\tbaz\n198.51.100.123\tpark\tdoo\tboo\n"));
    }
}
