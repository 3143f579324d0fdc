using System.Net;
using Overlay.Core.Config;

namespace Overlay.Core.Tests.Config;

public class ServiceNetworkConfigTests
{
    private const string Pods = "\"Network\":\"198.18.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}";
    private const string DualStackPods = "\"Network\":\"198.18.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:db8:1::/48\",\"Backend\":{\"Type\":\"vxlan\"}";

    private static NetworkConfig Parse(string members) => NetworkConfigParser.Parse("{" + members + "}");

    private static NetworkConfigError SingleError(string members)
    {
        bool ok = NetworkConfigParser.TryParse("{" + members + "}", out NetworkConfig? config, out IReadOnlyList<NetworkConfigError> errors);
        Assert.That(ok, Is.False, "the config should have been rejected");
        Assert.That(config, Is.Null);
        Assert.That(errors, Has.Count.EqualTo(1), string.Join(" | ", errors));
        return errors[0];
    }

    [Test]
    public void A_config_without_service_fields_has_no_service_network_and_the_default_cluster_domain()
    {
        NetworkConfig config = Parse(Pods);

        Assert.That(config.ServiceNetwork, Is.Null);
        Assert.That(config.ServiceIPv6Network, Is.Null);
        Assert.That(config.ClusterDomain, Is.EqualTo("cluster.local"));
    }

    [Test]
    public void The_service_fields_are_read_in_any_case()
    {
        NetworkConfig config = Parse(DualStackPods + ",\"servicenetwork\":\"198.19.0.0/16\",\"SERVICEIPV6NETWORK\":\"2001:db8:ffff::/112\",\"clusterdomain\":\"example.test\"");

        Assert.That(config.ServiceNetwork, Is.EqualTo(IPNetwork.Parse("198.19.0.0/16")));
        Assert.That(config.ServiceIPv6Network, Is.EqualTo(IPNetwork.Parse("2001:db8:ffff::/112")));
        Assert.That(config.ClusterDomain, Is.EqualTo("example.test"));
    }

    [Test]
    public void A_cluster_domain_is_stored_lower_case_without_its_trailing_dot()
    {
        Assert.That(Parse(Pods + ",\"ClusterDomain\":\"Cluster.Example.\"").ClusterDomain, Is.EqualTo("cluster.example"));
    }

    [TestCase("", "it is empty")]
    [TestCase(".", "it is empty")]
    [TestCase("cluster..local", "empty label")]
    [TestCase("-cluster.local", "must start and end with a letter or digit")]
    [TestCase("cluster_local", "'_' is not allowed")]
    public void A_cluster_domain_that_is_not_a_DNS_name_is_refused_with_the_reason(string domain, string reason)
    {
        NetworkConfigError error = SingleError(Pods + $",\"ClusterDomain\":\"{domain}\"");

        Assert.That(error.Field, Is.EqualTo("ClusterDomain"));
        Assert.That(error.Message, Does.StartWith($"'{domain}' is not a DNS domain: ").And.Contain(reason).And.Contain("cluster.local"));
    }

    [Test]
    public void A_service_network_overlapping_the_pod_network_is_refused_naming_both_ranges()
    {
        NetworkConfigError error = SingleError(Pods + ",\"ServiceNetwork\":\"198.18.128.0/20\"");

        Assert.That(error.Field, Is.EqualTo("ServiceNetwork"));
        Assert.That(error.Message, Is.EqualTo("198.18.128.0/20 overlaps the pod network (Network 198.18.0.0/16); the service network must be a range of its own, apart from 198.18.0.0/16"));
    }

    [Test]
    public void A_service_network_containing_the_pod_network_is_refused_too()
    {
        Assert.That(SingleError(Pods + ",\"ServiceNetwork\":\"198.18.0.0/15\"").Message, Does.Contain("overlaps the pod network (Network 198.18.0.0/16)"));
    }

    [TestCase("198.19.0.1/16", "it has host bits set; the network address is 198.19.0.0/16")]
    [TestCase("198.19.0.0", "no prefix length")]
    [TestCase("web/16", "'web' is not an IP address")]
    public void A_service_network_that_is_not_a_CIDR_is_refused_naming_the_value(string value, string reason)
    {
        NetworkConfigError error = SingleError(Pods + $",\"ServiceNetwork\":\"{value}\"");

        Assert.That(error.Field, Is.EqualTo("ServiceNetwork"));
        Assert.That(error.Message, Does.StartWith($"'{value}' is not a valid network: ").And.Contain(reason).And.Contain("198.19.0.0/16"));
    }

    [Test]
    public void An_IPv6_service_network_is_not_an_IPv4_one()
    {
        Assert.That(SingleError(Pods + ",\"ServiceNetwork\":\"2001:db8::/112\"").Message, Does.StartWith("'2001:db8::/112' is not an IPv4 network"));
    }

    [TestCase("198.19.0.0/28", true)]
    [TestCase("198.19.0.0/29", false)]
    [TestCase("198.19.0.0/32", false)]
    public void A_service_network_needs_at_least_sixteen_addresses(string value, bool valid)
    {
        if (valid)
        {
            Assert.That(Parse(Pods + $",\"ServiceNetwork\":\"{value}\"").ServiceNetwork, Is.EqualTo(IPNetwork.Parse(value)));
        }
        else
        {
            Assert.That(SingleError(Pods + $",\"ServiceNetwork\":\"{value}\"").Message, Is.EqualTo($"'{value}' is too small: a service network needs at least /28 (16 addresses)"));
        }
    }

    [TestCase("127.0.0.0/16", "127.0.0.0/8 (loopback)")]
    [TestCase("224.0.0.0/16", "224.0.0.0/4 (multicast)")]
    [TestCase("169.254.0.0/20", "169.254.0.0/16 (link-local)")]
    [TestCase("0.0.0.0/0", "0.0.0.0/8 (this network)")]
    public void A_service_network_in_a_special_range_is_refused(string value, string range)
    {
        Assert.That(SingleError(Pods + $",\"ServiceNetwork\":\"{value}\"").Message, Does.StartWith($"{value} overlaps {range}"));
    }

    [Test]
    public void An_IPv6_service_network_needs_EnableIPv6()
    {
        NetworkConfigError error = SingleError(Pods + ",\"ServiceNetwork\":\"198.19.0.0/16\",\"ServiceIPv6Network\":\"2001:db8:ffff::/112\"");

        Assert.That(error.Field, Is.EqualTo("ServiceIPv6Network"));
        Assert.That(error.Message, Does.Contain("EnableIPv6"));
    }

    [Test]
    public void An_IPv6_service_network_overlapping_the_IPv6_pod_network_is_refused_naming_both_ranges()
    {
        NetworkConfigError error = SingleError(DualStackPods + ",\"ServiceNetwork\":\"198.19.0.0/16\",\"ServiceIPv6Network\":\"2001:db8:1:5::/112\"");

        Assert.That(error.Message, Is.EqualTo("2001:db8:1:5::/112 overlaps the pod network (IPv6Network 2001:db8:1::/48); the service network must be a range of its own, apart from 2001:db8:1::/48"));
    }

    [Test]
    public void An_IPv6_service_network_needs_its_IPv4_half()
    {
        Assert.That(SingleError(DualStackPods + ",\"ServiceIPv6Network\":\"2001:db8:ffff::/112\"").Message, Does.Contain("without a ServiceNetwork"));
    }

    [Test]
    public void Service_problems_are_reported_with_the_other_problems()
    {
        bool ok = NetworkConfigParser.TryParse("{\"Network\":\"198.18.0.0/33\",\"ServiceNetwork\":\"x\",\"ClusterDomain\":\"a..b\",\"Backend\":{\"Type\":\"vxlan\"}}", out _, out IReadOnlyList<NetworkConfigError> errors);

        Assert.That(ok, Is.False);
        Assert.That(errors.Select(e => e.Field), Is.EqualTo(new[] { "Network", "ServiceNetwork", "ClusterDomain" }));
    }

    [Test]
    public void The_underlay_check_passes_addresses_apart_from_the_service_network()
    {
        NetworkConfig config = Parse(Pods + ",\"ServiceNetwork\":\"198.19.0.0/16\"");

        Assert.That(ServiceNetworkChecks.AgainstUnderlay(config, [IPNetwork.Parse("192.0.2.11/24"), IPNetwork.Parse("2001:db8::11/64")]), Is.Null);
    }

    [Test]
    public void The_underlay_check_names_the_service_network_and_the_nodes_address()
    {
        NetworkConfig config = Parse(Pods + ",\"ServiceNetwork\":\"198.19.0.0/16\"");

        string? error = ServiceNetworkChecks.AgainstUnderlay(config, [(IPAddress.Parse("192.0.2.11"), 24), (IPAddress.Parse("198.19.4.7"), 24)]);

        Assert.That(error, Does.StartWith("ServiceNetwork 198.19.0.0/16 overlaps this node's address 198.19.4.7/24 (on-link range 198.19.4.0/24)"));
        Assert.That(error, Does.Not.Contain("192.0.2.11"));
    }

    [Test]
    public void The_underlay_check_counts_an_on_link_range_around_the_service_network()
    {
        NetworkConfig config = Parse(Pods + ",\"ServiceNetwork\":\"198.19.0.0/24\"");

        Assert.That(ServiceNetworkChecks.AgainstUnderlay(config, [(IPAddress.Parse("198.19.200.1"), 16)]), Does.Contain("on-link range 198.19.0.0/16"));
    }

    [Test]
    public void The_underlay_check_looks_at_IPv6_addresses_against_the_IPv6_service_network()
    {
        NetworkConfig config = Parse(DualStackPods + ",\"ServiceNetwork\":\"198.19.0.0/16\",\"ServiceIPv6Network\":\"2001:db8:ffff::/112\"");

        string? error = ServiceNetworkChecks.AgainstUnderlay(config, [(IPAddress.Parse("2001:db8:ffff::5"), 128)]);

        Assert.That(error, Does.StartWith("ServiceIPv6Network 2001:db8:ffff::/112 overlaps this node's address 2001:db8:ffff::5/128:"));
    }

    [Test]
    public void The_underlay_check_takes_node_networks_too()
    {
        NetworkConfig config = Parse(Pods + ",\"ServiceNetwork\":\"198.19.0.0/16\"");

        Assert.That(ServiceNetworkChecks.AgainstUnderlay(config, [IPNetwork.Parse("198.19.4.0/24")]), Does.StartWith("ServiceNetwork 198.19.0.0/16 overlaps this node's address 198.19.4.0/24"));
    }

    [Test]
    public void Without_a_service_network_the_underlay_check_has_nothing_to_say()
    {
        Assert.That(ServiceNetworkChecks.AgainstUnderlay(Parse(Pods), [(IPAddress.Parse("198.19.0.1"), 16)]), Is.Null);
    }

    [Test]
    public void The_cluster_DNS_address_is_dot_10_of_the_service_network_unless_the_config_names_another()
    {
        Assert.That(Parse(Pods + ",\"ServiceNetwork\":\"198.19.0.0/16\"").ClusterDnsAddress, Is.EqualTo(IPAddress.Parse("198.19.0.10")));
        Assert.That(Parse(Pods + ",\"ServiceNetwork\":\"198.19.0.0/16\",\"ClusterDNS\":\"198.19.0.53\"").ClusterDnsAddress, Is.EqualTo(IPAddress.Parse("198.19.0.53")));
        Assert.That(Parse(Pods).ClusterDnsAddress, Is.Null);
    }

    [TestCase("198.19.0", "is not an IPv4 address")]
    [TestCase("2001:db8::10", "is not an IPv4 address")]
    [TestCase("198.19.0.10/32", "is not an IPv4 address")]
    [TestCase("198.51.100.10", "is outside the service network 198.19.0.0/16")]
    [TestCase("198.19.0.0", "is the network address of the service network")]
    [TestCase("198.19.255.255", "is the broadcast address of the service network")]
    public void A_cluster_DNS_address_the_service_network_cannot_hold_is_refused_naming_it(string address, string reason)
    {
        NetworkConfigError error = SingleError(Pods + $",\"ServiceNetwork\":\"198.19.0.0/16\",\"ClusterDNS\":\"{address}\"");

        Assert.That(error.Field, Is.EqualTo("ClusterDNS"));
        Assert.That(error.Message, Does.Contain(address).And.Contain(reason).And.Contain("ClusterDNS"));
    }

    [Test]
    public void A_cluster_DNS_address_without_a_service_network_is_refused()
    {
        NetworkConfigError error = SingleError(Pods + ",\"ClusterDNS\":\"198.19.0.10\"");

        Assert.That(error.Field, Is.EqualTo("ClusterDNS"));
        Assert.That(error.Message, Does.Contain("without a ServiceNetwork"));
    }
}
