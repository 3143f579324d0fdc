using System.Net;
using Overlay.Daemon.Options;

namespace Overlay.Daemon.Tests.Options;

public class DaemonFlagsTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private static DaemonOptions Parse(params string[] args) => DaemonFlags.Parse(args, NoEnvironment);

    private static string Refused(string[] args, Dictionary<string, string?>? environment = null) =>
        Assert.Throws<UsageException>(() => DaemonFlags.Parse(args, environment ?? NoEnvironment))!.Message;

    [Test]
    public void The_defaults_are_flannels()
    {
        DaemonOptions options = Parse();

        Assert.That(options.Etcd.Prefix, Is.EqualTo("/coreos.com/network"));
        Assert.That(options.SubnetFile, Is.EqualTo("/run/flannel/subnet.env"));
        Assert.That(options.SubnetLeaseRenewMargin, Is.EqualTo(60));
        Assert.That(options.HealthzPort, Is.Zero);
        Assert.That(options.IptablesForwardRules, Is.True);
        Assert.That(options.IpMasq, Is.False);
    }

    [Test]
    public void Flags_take_values_after_an_equals_sign_or_as_the_next_argument_with_one_or_two_dashes()
    {
        DaemonOptions options = Parse("--etcd-endpoints=http://192.0.2.1:2379,http://192.0.2.2:2379", "-etcd-prefix", "/x", "--ip-masq", "--iface", "eth1", "--iface=192.0.2.5");

        Assert.That(options.Etcd.Endpoints, Is.EqualTo(new[] { "http://192.0.2.1:2379", "http://192.0.2.2:2379" }));
        Assert.That(options.Etcd.Prefix, Is.EqualTo("/x"));
        Assert.That(options.IpMasq, Is.True);
        Assert.That(options.Iface, Is.EqualTo(new[] { "eth1", "192.0.2.5" }));
    }

    [Test]
    public void A_boolean_flag_can_be_turned_off_explicitly()
    {
        Assert.That(Parse("--iptables-forward-rules=false").IptablesForwardRules, Is.False);
    }

    [Test]
    public void Environment_variables_set_flags_and_the_command_line_wins()
    {
        var environment = new Dictionary<string, string?>
        {
            ["FLANNELD_ETCD_PREFIX"] = "/from-flannel",
            ["FLANNELD_PUBLIC_IP"] = "192.0.2.9",
            ["OVERLAYD_PUBLIC_IP"] = "192.0.2.10",
            ["FLANNELD_IFACE"] = "eth7,eth8",
            ["FLANNELD_IP_MASQ"] = "true",
        };

        DaemonOptions options = DaemonFlags.Parse(["--etcd-prefix", "/from-flag"], environment);

        Assert.That(options.Etcd.Prefix, Is.EqualTo("/from-flag"));
        Assert.That(options.PublicIP, Is.EqualTo(IPAddress.Parse("192.0.2.10")), "OVERLAYD_ wins over FLANNELD_");
        Assert.That(options.Iface, Is.EqualTo(new[] { "eth7", "eth8" }));
        Assert.That(options.IpMasq, Is.True);
    }

    [Test]
    public void An_iface_list_on_the_command_line_replaces_the_environments()
    {
        DaemonOptions options = DaemonFlags.Parse(["--iface", "eth1"], new Dictionary<string, string?> { ["FLANNELD_IFACE"] = "eth7" });
        Assert.That(options.Iface, Is.EqualTo(new[] { "eth1" }));
    }

    [Test]
    public void Durations_are_read_as_go_writes_them()
    {
        Assert.That(Parse("--subnet-lease-ttl", "1h30m").SubnetLeaseTtl, Is.EqualTo(TimeSpan.FromMinutes(90)));
        Assert.That(Parse("--resync-interval=2s").ResyncInterval, Is.EqualTo(TimeSpan.FromSeconds(2)));
    }

    [Test]
    public void An_unknown_flag_is_named_with_a_suggestion()
    {
        string message = Refused(["--iface-regexp=eth.*"]);
        Assert.That(message, Does.Contain("unknown flag --iface-regexp").And.Contain("--help"));
    }

    [TestCase("--public-ip=banana", "--public-ip", "IPv4 address")]
    [TestCase("--public-ip=2001:db8::1", "--public-ip", "IPv4 address")]
    [TestCase("--public-ipv6=192.0.2.1", "--public-ipv6", "IPv6 address")]
    [TestCase("--subnet-lease-renew-margin=0", "--subnet-lease-renew-margin", "1 to 1439")]
    [TestCase("--subnet-lease-renew-margin=1440", "--subnet-lease-renew-margin", "1 to 1439")]
    [TestCase("--healthz-port=70000", "--healthz-port", "0 to 65535")]
    [TestCase("--etcd-endpoints=192.0.2.1:2379", "--etcd-endpoints", "http://HOST:PORT")]
    [TestCase("--ip-masq=maybe", "--ip-masq", "true or false")]
    [TestCase("--subnet-lease-ttl=1d", "--subnet-lease-ttl", "unknown unit")]
    [TestCase("--iface-regex=eth[", "--iface-regex", "not a regular expression")]
    [TestCase("--etcd-cafile=/nonexistent/ca.pem", "--etcd-cafile", "does not exist")]
    [TestCase("--etcd-prefix", "--etcd-prefix", "needs a value")]
    [TestCase("--etcd-prefix=coreos.com/network", "--etcd-prefix", "is not an etcd prefix; give one such as /coreos.com/network")]
    [TestCase("--etcd-endpoints=http://192.0.2.1:2379,https://192.0.2.2:2379", "--etcd-endpoints", "mix http:// and https://")]
    [TestCase("--etcd-username=overlay", "--etcd-password", "needs a password")]
    public void A_bad_value_names_the_flag_and_what_is_valid(string arg, string flag, string valid)
    {
        string message = Refused([arg]);
        Assert.That(message, Does.Contain(flag).And.Contain(valid));
    }

    [Test]
    public void A_bad_environment_value_names_the_variable()
    {
        string message = Refused([], new Dictionary<string, string?> { ["FLANNELD_HEALTHZ_PORT"] = "x" });
        Assert.That(message, Does.Contain("FLANNELD_HEALTHZ_PORT").And.Contain("0 to 65535"));
    }

    [Test]
    public void The_etcd_flags_are_resolved_by_the_shared_definition()
    {
        var environment = new Dictionary<string, string?> { ["FLANNELD_ETCD_ENDPOINTS"] = "nonsense", ["OVERLAYD_ETCD_PREFIX"] = "/from-overlayd/" };

        DaemonOptions options = DaemonFlags.Parse(["--etcd-endpoints=http://192.0.2.1:2379"], environment);

        Assert.That(options.Etcd.Endpoints, Is.EqualTo(new[] { "http://192.0.2.1:2379" }), "the command line wins; the variable it overrides is not checked");
        Assert.That(options.Etcd.Prefix, Is.EqualTo("/from-overlayd"));
        Assert.That(Refused([], new Dictionary<string, string?> { ["FLANNELD_ETCD_ENDPOINTS"] = "nonsense" }),
            Is.EqualTo("environment variable FLANNELD_ETCD_ENDPOINTS: 'nonsense' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated"));
    }

    [Test]
    public void Kubernetes_subnet_manager_flags_are_refused_not_ignored()
    {
        Assert.That(Refused(["--kube-subnet-mgr"]), Does.Contain("not supported").And.Contain("--etcd-endpoints"));
    }

    [Test]
    public void A_positional_argument_is_refused()
    {
        Assert.That(Refused(["eth0"]), Does.Contain("unexpected argument 'eth0'"));
    }

    [Test]
    public void The_help_lists_every_flag()
    {
        string help = DaemonFlags.HelpText();
        Assert.That(DaemonFlags.FlagNames, Has.All.Matches<string>(name => help.Contains("--" + name, StringComparison.Ordinal)));
        Assert.That(help, Does.Contain("FLANNELD_"));
    }

    [Test]
    public void The_pods_folder_is_beside_the_subnet_file_and_their_TTL_is_30_seconds_unless_told()
    {
        Assert.That(Parse().EffectivePodsDir, Is.EqualTo("/run/flannel/pods"));
        Assert.That(Parse("--subnet-file", "/tmp/n1/subnet.env").EffectivePodsDir, Is.EqualTo("/tmp/n1/pods"));
        Assert.That(Parse("--pods-dir", "/var/run/pods").EffectivePodsDir, Is.EqualTo("/var/run/pods"));
        Assert.That(Parse().PodTtl, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(Parse("--pod-ttl=3s").PodTtl, Is.EqualTo(TimeSpan.FromSeconds(3)));
        Assert.That(DaemonFlags.Parse([], new Dictionary<string, string?> { ["OVERLAYD_POD_TTL"] = "1m" }).PodTtl, Is.EqualTo(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public void DNS_is_served_unless_turned_off_and_forwards_to_resolv_conf_unless_told_otherwise()
    {
        Assert.That(Parse().Dns, Is.True);
        Assert.That(Parse("--dns=false").Dns, Is.False);
        Assert.That(DaemonFlags.Parse([], new Dictionary<string, string?> { ["OVERLAYD_DNS"] = "false" }).Dns, Is.False);
        Assert.That(Parse().DnsUpstream, Is.Empty);
        Assert.That(Parse("--dns-upstream", "192.0.2.53,[2001:db8::53]:5353").DnsUpstream,
            Is.EqualTo(new[] { new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53), new IPEndPoint(IPAddress.Parse("2001:db8::53"), 5353) }));
        Assert.That(DaemonFlags.Parse(["--dns-upstream=198.51.100.1"], new Dictionary<string, string?> { ["OVERLAYD_DNS_UPSTREAM"] = "192.0.2.53" }).DnsUpstream,
            Is.EqualTo(new[] { new IPEndPoint(IPAddress.Parse("198.51.100.1"), 53) }), "the command line replaces the environment's list");
    }

    [Test]
    public void A_DNS_upstream_that_is_not_an_address_is_refused_naming_the_flag_and_the_forms()
    {
        Assert.That(Refused(["--dns-upstream=dns.example"]), Does.StartWith("flag --dns-upstream: 'dns.example' is not valid").And.Contain("[IPv6]:port"));
        Assert.That(Refused(["--dns-upstream=192.0.2.53:0"]), Does.Contain("'192.0.2.53:0' is not valid"));
        Assert.That(Refused(["--dns-upstream=,"]), Does.Contain("empty"));
    }

    [Test]
    public void A_pod_TTL_under_a_second_is_refused_naming_the_flag()
    {
        Assert.That(Refused(["--pod-ttl", "500ms"]), Does.StartWith("flag --pod-ttl: '500ms' is too short"));
    }
}
