using System.CommandLine;
using Overlay.Cli.Pods;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Pods;

/// <summary>The pod commands' command line and the input they refuse before touching the system.</summary>
public sealed class PodArgumentTests
{
    [Test]
    public void Repeatable_flags_keep_every_value_in_order()
    {
        ParseResult parse = CommandLine.Parse(
            ["pod", "run", "web-1", "--node", "n1", "--nameserver", "192.0.2.1", "--nameserver=192.0.2.2", "--search", "a.example", "--host-alias", "198.51.100.7=db", "--host-alias", "198.51.100.8=cache", "--dns-option=ndots:2"]);

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(CommandLine.PathOf(parse.CommandResult.Command), Is.EqualTo("pod run"));
        Assert.That(parse.GetValue(PodFlags.Nameserver), Is.EqualTo(new[] { "192.0.2.1", "192.0.2.2" }));
        Assert.That(parse.GetValue(PodFlags.Search), Is.EqualTo(new[] { "a.example" }));
        Assert.That(parse.GetValue(PodFlags.HostAlias), Is.EqualTo(new[] { "198.51.100.7=db", "198.51.100.8=cache" }));
        Assert.That(parse.GetValue(PodFlags.DnsOption), Is.EqualTo(new[] { "ndots:2" }));
        Assert.That(parse.GetValue(PodFlags.Node), Is.EqualTo("n1"));
    }

    [Test]
    public async Task A_pod_flag_on_another_command_is_refused()
    {
        CliResult result = await Cli.RunAsync("leases", "list", "--nameserver", "192.0.2.1");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Err, Does.StartWith("error: Unrecognized command or argument '--nameserver'."));
    }

    [Test]
    public async Task The_help_lists_the_pod_commands()
    {
        CliResult group = await Cli.RunAsync("pod", "--help");
        CliResult run = await Cli.RunAsync("pod", "run", "--help");

        Assert.That(group.Out, Does.Contain("  run <NAME> "));
        Assert.That(group.Out, Does.Contain("  rm <NAME> "));
        Assert.That(group.Out, Does.Contain("  list "));
        Assert.That(run.Out, Does.Contain("--host-alias <IP=NAME[,NAME]>"));
    }

    [Test]
    public void The_default_CNI_path_starts_with_overlayctls_own_folder()
    {
        Assert.That(CniInvocation.DefaultPath, Is.EqualTo(AppContext.BaseDirectory.TrimEnd('/') + ":/opt/cni/bin:/usr/lib/cni"));
    }

    [Test]
    public void The_first_address_of_a_CNI_result_is_the_pods()
    {
        CniAddress address = CniInvocation.ParseResult(
            """{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"address":"198.18.34.2/24","gateway":"198.18.34.1","interface":0}]}""");

        Assert.That((address.Address, address.Ip.ToString(), address.Gateway), Is.EqualTo(("198.18.34.2/24", "198.18.34.2", "198.18.34.1")));
    }

    [Test]
    public void Every_address_of_a_CNI_result_is_kept_in_order_and_the_first_is_the_records()
    {
        CniAddress address = CniInvocation.ParseResult(
            """{"cniVersion":"1.0.0","ips":[{"address":"198.18.34.2/24","gateway":"198.18.34.1"},{"address":"2001:db8:34::2/64"}]}""");

        Assert.That(address.Ips.Select(ip => ip.ToString()), Is.EqualTo(new[] { "198.18.34.2", "2001:db8:34::2" }));
        Assert.That((address.Address, address.Gateway), Is.EqualTo(("198.18.34.2/24", "198.18.34.1")));
    }

    [Test]
    public void A_CNI_result_without_an_address_is_an_error()
    {
        var error = Assert.Throws<Overlay.Cli.Commands.CommandFailedException>(() => CniInvocation.ParseResult("""{"cniVersion":"1.0.0","ips":[]}"""));

        Assert.That(error!.Message, Does.StartWith("the CNI plugin's ADD result holds no address"));
    }

    [Test]
    public void The_network_config_names_the_plugin_subnet_file_and_state_folders_and_asks_for_a_default_route()
    {
        string json = CniInvocation.NetworkConfig("/run/flannel/subnet.env", "/var/lib/cni/flannel", "/tmp/ipam").GetRawText();

        Assert.That(json, Is.EqualTo(
            """{"cniVersion":"1.0.0","name":"overlay","type":"overlay","subnetFile":"/run/flannel/subnet.env","dataDir":"/var/lib/cni/flannel","delegate":{"isDefaultGateway":true},"ipam":{"dataDir":"/tmp/ipam"}}"""));
    }

    [Test]
    public void Labels_go_to_the_plugin_in_args_cni_labels_in_key_order()
    {
        string json = CniInvocation.NetworkConfig("/s", "/d", null, new Dictionary<string, string> { ["tier"] = "front", ["app"] = "web" }).GetRawText();

        Assert.That(json, Does.EndWith(""","args":{"cni":{"labels":[{"key":"app","value":"web"},{"key":"tier","value":"front"}]}}}"""));
    }

    [Test]
    public void The_pod_is_named_to_the_plugin_in_CNI_ARGS_as_a_runtime_names_it()
    {
        var pod = new PodRecord
        {
            Name = "web-1", Node = "n1", NodeNetns = "/run/netns/n1", Netns = "/run/netns/web-1", ContainerId = "web-1", IfName = "eth0",
            CniPath = "/x", NetworkConfig = CniInvocation.NetworkConfig("/s", "/d", null), EtcDir = "/etc/netns/web-1", Created = "2026-11-30T00:00:00Z",
            Namespace = "shop",
        };

        Assert.That(CniInvocation.CniArgs(pod), Is.EqualTo("IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-1;K8S_POD_INFRA_CONTAINER_ID=web-1"));
        Assert.That(CniInvocation.CniArgs(pod with { Namespace = null }), Does.Contain("K8S_POD_NAMESPACE=default;"), "a record from before namespaces");
    }

    // Each of these is refused with exit 2 before anything is created: the node does not even need to exist.
    [TestCase(new[] { "--cluster-dns", "198.18.255.10", "--nameserver", "192.0.2.1", "--nameserver", "192.0.2.2", "--nameserver", "192.0.2.3", "--nameserver", "192.0.2.4" },
        "error: 4 --nameserver given, but a pod has at most 3 nameservers\n")]
    [TestCase(new[] { "--dns-policy", "None", "--nameserver", "192.0.2.1", "--search", "a.example", "--search", "b.example", "--search", "c.example", "--search", "d.example", "--search", "e.example", "--search", "f.example", "--search", "g.example" },
        "error: 7 --search given, but a pod has at most 6 search domains\n")]
    [TestCase(new[] { "--dns-policy", "None", "--search", "a.example" },
        "error: --dns-policy None needs at least one --nameserver: with policy None the pod's nameserver list must hold at least one address\n")]
    [TestCase(new[] { "--cluster-dns", "198.18.255.10", "--host-alias", "db=198.51.100.7" },
        "error: --host-alias 'db=198.51.100.7': 'db' is not an IP address; a host alias maps an IP to names (IP=NAME[,NAME...])\n")]
    [TestCase(new[] { "--cluster-dns", "kube-dns" },
        "error: --cluster-dns 'kube-dns' is not an IP address\n")]
    [TestCase(new[] { "--dns-policy", "Cluster" },
        "error: flag --dns-policy: 'Cluster' is not a DNS policy; use ClusterFirst, ClusterFirstWithHostNet, Default or None\n")]
    [TestCase(new[] { "--dns-policy", "None", "--nameserver", "192.0.2.1", "--dns-option", ":5" },
        "error: DNS option ':5' has no name; an option is NAME or NAME:VALUE (e.g. ndots:2, edns0)\n")]
    [TestCase(new[] { "--dns-policy", "Default", "--label", "app" },
        "error: flag --label: 'app' is not KEY=VALUE\n")]
    [TestCase(new[] { "--dns-policy", "Default", "--label", "app=web", "--label", "-tier=front" },
        "error: flag --label: label key '-tier' is invalid: its name must be 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit\n")]
    [TestCase(new[] { "--dns-policy", "Default", "--label", "app=web server" },
        "error: flag --label: label value 'web server' is invalid: it must be empty or 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit\n")]
    [TestCase(new[] { "--cluster-dns", "198.18.255.10", "--namespace", "Shop" },
        "error: flag --namespace: namespace 'Shop' is not a DNS label (1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit)\n")]
    [TestCase(new[] { "--dns-policy", "Default", "--namespace", "shop.eu" },
        "error: flag --namespace: namespace 'shop.eu' is not a DNS label (1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit)\n")]
    public async Task Bad_input_is_refused_with_exit_2_and_a_message_naming_the_rule(string[] flags, string message)
    {
        string name = $"{NetworkLab.NamePrefix}{Environment.ProcessId}x0-refused";

        CliResult result = await Cli.RunAsync(["pod", "run", name, "--node", "no-such-node", "--node-resolv-conf", "/dev/null", .. flags]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Is.EqualTo(message + "See 'overlayctl pod run --help' for usage.\n"));
        Assert.That(File.Exists("/run/netns/" + name), Is.False);
        Assert.That(Directory.Exists("/etc/netns/" + name), Is.False);
    }

    [Test]
    public async Task Pod_run_without_a_node_is_a_usage_error()
    {
        CliResult result = await Cli.RunAsync("pod", "run", "web-1", "--cluster-dns", "198.18.255.10");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Err, Does.StartWith("error: 'pod run' needs --node NETNS"));
    }

    [Test]
    public async Task Pod_run_with_a_node_namespace_that_does_not_exist_is_a_usage_error()
    {
        string name = $"{NetworkLab.NamePrefix}{Environment.ProcessId}x0-nonode";

        CliResult result = await Cli.RunAsync("pod", "run", name, "--node", "no-such-node", "--cluster-dns", "198.18.255.10", "--node-resolv-conf", "/dev/null");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Err, Is.EqualTo("error: flag --node: node namespace /run/netns/no-such-node does not exist (--node no-such-node); give the name of a namespace under /run/netns or its path\n"
            + "See 'overlayctl pod run --help' for usage.\n"));
        Assert.That(File.Exists("/run/netns/" + name), Is.False, "nothing is created");
    }

    [Test]
    public async Task A_pod_name_that_is_not_a_DNS_label_is_refused()
    {
        CliResult result = await Cli.RunAsync("pod", "rm", "Web_1");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Err, Does.StartWith("error: pod name 'Web_1' is not a DNS label"));
    }

    [Test]
    public async Task Removing_a_pod_that_does_not_exist_fails_with_exit_1()
    {
        string state = Directory.CreateTempSubdirectory("ovt-pods-").FullName;
        try
        {
            CliResult result = await Cli.RunAsync("pod", "rm", "nothing-here", "--pod-state-dir", state);

            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(result.Err, Is.EqualTo($"error: no pod nothing-here: no record at {state}/nothing-here.json, no namespace /run/netns/nothing-here, no /etc/netns/nothing-here\n"));
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Test]
    public async Task An_empty_pod_list_says_so_on_stderr_and_json_gives_an_empty_list()
    {
        string state = Path.Combine(Path.GetTempPath(), "ovt-pods-missing-" + Guid.NewGuid().ToString("N"));

        CliResult table = await Cli.RunAsync("pod", "list", "--pod-state-dir", state);
        CliResult json = await Cli.RunAsync("pod", "list", "--pod-state-dir", state, "-o", "json");

        Assert.That((table.ExitCode, table.Out, table.Err), Is.EqualTo((0, "", $"No pods in {state}\n")));
        Assert.That((json.ExitCode, json.Out), Is.EqualTo((0, "{\n  \"pods\": []\n}\n")));
    }
}
