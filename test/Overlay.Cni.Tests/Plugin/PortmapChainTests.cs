using System.Text.Json;
using System.Text.Json.Nodes;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Plugin;

/// <summary>The plugin first in a conflist with Debian's portmap, like kube-flannel's "cbr0" list.</summary>
[NonParallelizable]
public class PortmapChainTests
{
    private const string NodeAddress = "203.0.113.1";

    private PodNetwork _network = null!;
    private NetNs _client = null!;
    private string _site = "";

    [SetUp]
    public void CreateNodeAndClient()
    {
        Root.Require();
        _network = new PodNetwork();
        _client = _network.Lab.AddNamespace("client");
        var (nodeEnd, clientEnd) = _network.Lab.AddVethPair(_network.Node, _client);
        _network.Node.AddAddress(nodeEnd, NodeAddress + "/24");
        _client.AddAddress(clientEnd, "203.0.113.2/24");
        _site = Path.Combine(_network.Folder, "site");
        Directory.CreateDirectory(_site);
        File.WriteAllText(Path.Combine(_site, "hello.txt"), "hello from the pod");
    }

    [TearDown]
    public void RemoveAll() => _network?.Dispose();

    private Conflist PodNet() => new(
        PodNetwork.NetworkName,
        [
            // kube-flannel's delegate members: the pod also needs a default route to answer outside clients.
            _network.PluginMember(new JsonObject { ["hairpinMode"] = true, ["isDefaultGateway"] = true }),
            new JsonObject { ["type"] = "portmap", ["capabilities"] = new JsonObject { ["portMappings"] = true } },
        ],
        new JsonObject
        {
            ["portMappings"] = new JsonArray(new JsonObject { ["hostPort"] = 8080, ["containerPort"] = 80, ["protocol"] = "tcp" }),
        });

    private string Fetch() => _client.Exec("curl", "-s", "--max-time", "2", $"http://{NodeAddress}:8080/hello.txt").StdOut;

    [Test]
    public void A_host_port_reaches_the_pod_after_ADD_our_CHECK_passes_in_the_chain_and_DEL_removes_the_mapping()
    {
        Conflist conflist = PodNet();
        NetNs pod = _network.Pod("web");

        CniOutcome add = conflist.Add("web", _network.Node, pod);
        Assert.That(add.ExitCode, Is.EqualTo(0), add.ToString());
        string podAddress = add.Json.GetProperty("ips")[0].GetProperty("address").GetString()!.Split('/')[0];
        pod.Start("/usr/bin/python3", ["-m", "http.server", "80", "--bind", podAddress, "--directory", _site]);

        Assert.That(Poll.Until(() => Fetch() == "hello from the pod", TimeSpan.FromSeconds(20)), Is.True,
            "a client outside the node reaches the pod through host port 8080:\n" + _network.Node.Exec("iptables-save", "-t", "nat").StdOut);

        IReadOnlyDictionary<string, CniOutcome> check = conflist.Check("web", _network.Node, pod, add.Json);
        Assert.That(check["overlay"].ExitCode, Is.EqualTo(0), check["overlay"].ToString());
        // portmap before 1.3.0 (Debian 12 ships 1.1.1) fails CHECK of an IPv4-only pod looking for IPv6 rules
        // (containernetworking/plugins#819); anything else from it is a real failure.
        Assert.That(check["portmap"].ExitCode == 0 || check["portmap"].StdOut.Contains("could not check ipv6 dnat", StringComparison.Ordinal),
            Is.True, check["portmap"].ToString());

        CniOutcome del = conflist.Del("web", _network.Node, pod, add.Json);
        Assert.That(del.ExitCode, Is.EqualTo(0), del.ToString());
        Assert.That(_network.Node.Exec("iptables-save", "-t", "nat").StdOut, Does.Not.Contain("8080"));
        Assert.That(_network.ReservedAddresses(), Is.Empty);
        Assert.That(Fetch(), Is.Empty, "the port is no longer mapped");
    }

    [Test]
    public void The_result_passed_down_the_chain_is_the_bridges_with_the_pods_interface()
    {
        CniOutcome add = PodNet().Add("web", _network.Node, _network.Pod("web"));

        Assert.That(add.ExitCode, Is.EqualTo(0), add.ToString());
        JsonElement result = add.Json;
        Assert.That(result.GetProperty("interfaces").EnumerateArray().Select(i => i.GetProperty("name").GetString()), Does.Contain("cni0").And.Contain("eth0"));
        Assert.That(result.GetProperty("routes").EnumerateArray().Select(r => r.GetProperty("dst").GetString()), Does.Contain("198.18.0.0/16").And.Contain("0.0.0.0/0"));
    }
}
