using System.Net;
using Overlay.Cli.Pods;
using Overlay.Core.SubnetFile;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Pods;

/// <summary>How pod run finds the cluster DNS address and domain: the flags, else cluster-dns.env beside subnet.env.</summary>
public sealed class ClusterDnsDiscoveryTests
{
    private string folder = "";

    private string SubnetFile => Path.Combine(folder, "subnet.env");

    private string ClusterDnsEnv => Path.Combine(folder, ClusterDnsFile.FileName);

    [SetUp]
    public void CreateFolder() => folder = Directory.CreateTempSubdirectory("ovt-clusterdns-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(folder, recursive: true);

    [Test]
    public void Without_flags_the_address_and_domain_come_from_the_file_beside_subnet_env()
    {
        WriteClusterDnsEnv("198.18.0.10", "k8s.example");

        ClusterDnsSettings found = ClusterDnsSettings.Discover(DnsPolicy.ClusterFirst, null, null, SubnetFile);

        Assert.That(found, Is.EqualTo(new ClusterDnsSettings("198.18.0.10", "k8s.example", ClusterDnsEnv)));
    }

    [Test]
    public void Each_flag_overrides_its_own_value_from_the_file()
    {
        WriteClusterDnsEnv("198.18.0.10", "k8s.example");

        Assert.That(ClusterDnsSettings.Discover(DnsPolicy.ClusterFirst, "198.18.255.10", null, SubnetFile),
            Is.EqualTo(new ClusterDnsSettings("198.18.255.10", "k8s.example", ClusterDnsEnv)));
        Assert.That(ClusterDnsSettings.Discover(DnsPolicy.ClusterFirstWithHostNet, null, "other.example", SubnetFile),
            Is.EqualTo(new ClusterDnsSettings("198.18.0.10", "other.example", ClusterDnsEnv)));
    }

    [Test]
    public void With_neither_flag_nor_file_there_is_no_address_and_the_domain_is_cluster_local()
    {
        ClusterDnsSettings found = ClusterDnsSettings.Discover(DnsPolicy.ClusterFirst, null, null, SubnetFile);

        Assert.That(found, Is.EqualTo(new ClusterDnsSettings(null, "cluster.local", ClusterDnsEnv)));
    }

    [TestCase(DnsPolicy.Default)]
    [TestCase(DnsPolicy.None)]
    public void A_policy_that_does_not_use_cluster_DNS_does_not_read_the_file(DnsPolicy policy)
    {
        WriteClusterDnsEnv("198.18.0.10", "k8s.example");

        Assert.That(ClusterDnsSettings.Discover(policy, null, null, SubnetFile).Address, Is.Null);
    }

    [Test]
    public void A_discovered_address_and_domain_make_the_ClusterFirst_resolv_conf()
    {
        WriteClusterDnsEnv("198.18.0.10", "k8s.example.");
        ClusterDnsSettings found = ClusterDnsSettings.Discover(DnsPolicy.ClusterFirst, null, null, SubnetFile);

        string text = PodDns.Render(DnsPolicy.ClusterFirst, new PodDnsInputs { ClusterDns = found.Address, ClusterDomain = found.Domain, Namespace = "shop" }, ResolvConf.Empty);

        Assert.That(text, Is.EqualTo("nameserver 198.18.0.10\nsearch shop.svc.k8s.example svc.k8s.example k8s.example\noptions ndots:5\n"));
    }

    [Test]
    public async Task Pod_run_without_cluster_DNS_warns_on_stderr_what_to_do_and_goes_on_with_Default()
    {
        CliResult result = await RunUntilThePluginIsLookedForAsync(null);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Is.EqualTo(
            "warning: no cluster DNS address is known, so the pod cannot use --dns-policy ClusterFirst; it gets Default's resolv.conf (the node's), as the kubelet does. "
            + $"Neither --cluster-dns nor {ClusterDnsEnv} gives one: overlayd writes that file while it serves DNS, so start it with DNS on (not --dns=false) and a service network, or give --cluster-dns IP\n"
            + $"error: no CNI plugin 'overlay' in {Path.Combine(folder, "cni")}; install it there or point --cni-path at its folder\n"));
    }

    [Test]
    public async Task Pod_run_with_the_file_or_the_flag_does_not_warn()
    {
        CliResult withFlag = await RunUntilThePluginIsLookedForAsync(null, "--cluster-dns", "198.18.255.10");
        WriteClusterDnsEnv("198.18.0.10", "cluster.local");
        CliResult withFile = await RunUntilThePluginIsLookedForAsync(null);

        Assert.That(withFlag.Err, Does.StartWith("error: no CNI plugin"), withFlag.ToString());
        Assert.That(withFile.Err, Does.StartWith("error: no CNI plugin"), withFile.ToString());
    }

    [Test]
    public async Task A_node_resolv_conf_that_cannot_be_read_fails_the_pod_as_it_fails_the_kubelet()
    {
        string missing = Path.Combine(folder, "missing.conf");

        CliResult result = await RunUntilThePluginIsLookedForAsync(missing, "--cluster-dns", "198.18.255.10");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Does.StartWith($"error: read the node's resolv.conf {missing} (--node-resolv-conf; '' for none): "));
    }

    [Test]
    public async Task A_nameserver_line_without_an_address_in_the_node_resolv_conf_fails_the_pod()
    {
        string bad = Path.Combine(folder, "bad.conf");
        File.WriteAllText(bad, "nameserver 192.0.2.53\nnameserver\n");

        CliResult result = await RunUntilThePluginIsLookedForAsync(bad, "--dns-policy", "Default");

        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Is.EqualTo($"error: the node's resolv.conf {bad}: line 2: 'nameserver' without an address\n"));
    }

    private void WriteClusterDnsEnv(string address, string domain) =>
        File.WriteAllText(ClusterDnsEnv, new ClusterDnsFile(IPAddress.Parse(address), domain).Render());

    /// <summary>
    /// pod run as far as it goes without root: the node "namespace" is a plain file and the CNI folder is empty,
    /// so it stops (exit 1) at the plugin look-up, after the DNS plan and its warnings, before making anything.
    /// </summary>
    private async Task<CliResult> RunUntilThePluginIsLookedForAsync(string? nodeResolvConf, params string[] flags)
    {
        string node = Path.Combine(folder, "node-netns");
        File.WriteAllText(node, "");
        string resolv = nodeResolvConf ?? Path.Combine(folder, "resolv.conf");
        if (nodeResolvConf is null)
        {
            File.WriteAllText(resolv, "nameserver 192.0.2.53\nsearch corp.example\n");
        }

        Directory.CreateDirectory(Path.Combine(folder, "cni"));
        string name = $"{NetworkLab.NamePrefix}{Environment.ProcessId}x0-dns";
        return await Cli.RunAsync(
            ["pod", "run", name, "--node", node, "--subnet-file", SubnetFile, "--cni-path", Path.Combine(folder, "cni"),
                "--pod-state-dir", Path.Combine(folder, "state"), "--node-resolv-conf", resolv, .. flags]);
    }
}
