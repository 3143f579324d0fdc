using System.Net;
using System.Text.Json.Nodes;
using Overlay.Cni.Tests.Plugin;
using Overlay.Core.Addressing;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.EndToEnd;

/// <summary>Two overlayd nodes; the pods on them are made by the plugin from each node's subnet.env.</summary>
[NonParallelizable]
public class CrossNodePodTests
{
    private OverlayCluster _cluster = null!;
    private string _folder = "";

    [SetUp]
    public async Task StartCluster()
    {
        Root.Require();
        _folder = Directory.CreateTempSubdirectory($"ovt-cni-e2e-{Environment.ProcessId}-").FullName;
        _cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions
        {
            Overlayd = Path.Combine(TestContext.CurrentContext.TestDirectory, "overlayd.dll"),
            Nodes = 2,
            DaemonArgs = ["--resync-interval", "5s", "--ip-masq"],
        });
    }

    [TearDown]
    public async Task StopCluster()
    {
        if (_cluster is not null)
        {
            _cluster.AttachLogsIfFailed();
            await _cluster.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }

    /// <summary>ADD inside the node's namespace, as the node's kubelet would; returns the pod's address.</summary>
    private (NetNs Pod, string Address) AddPod(ClusterNode node)
    {
        node.WaitForSubnetFile();
        string state = Path.Combine(_folder, node.Name);
        var config = new JsonObject
        {
            ["cniVersion"] = "1.0.0",
            ["name"] = "podnet",
            ["type"] = "overlay",
            ["subnetFile"] = node.SubnetFile,
            ["dataDir"] = Path.Combine(state, "flannel"),
            ["ipam"] = new JsonObject { ["dataDir"] = Path.Combine(state, "networks") },
        };
        NetNs pod = _cluster.Lab.AddNamespace("pod" + node.Number.ToString(System.Globalization.CultureInfo.InvariantCulture));

        CniOutcome add = CniInvocation.Run(CniInvocation.Overlay, "ADD", config.ToJsonString(), "pod" + node.Name, node.Ns, pod.Path).EnsureSuccess();

        return (pod, add.Json.GetProperty("ips")[0].GetProperty("address").GetString()!.Split('/')[0]);
    }

    /// <summary>Whether the address is in the subnet FLANNEL_SUBNET names by its gateway, e.g. "198.18.34.1/24".</summary>
    private static bool InSubnet(string address, string gatewayCidr)
    {
        string[] parts = gatewayCidr.Split('/');
        int length = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var subnet = new IPNetwork(IPAddressMath.MaskedAddress(IPAddress.Parse(parts[0]), length), length);
        return subnet.Contains(IPAddress.Parse(address));
    }

    [Test]
    public void Pods_made_by_the_plugin_on_two_nodes_reach_each_other_across_the_overlay()
    {
        (NetNs podA, string addressA) = AddPod(_cluster.Nodes[0]);
        (NetNs podB, string addressB) = AddPod(_cluster.Nodes[1]);

        Assert.That(InSubnet(addressA, _cluster.Nodes[0].Subnet), Is.True, $"node1's pod {addressA} is in node1's subnet");
        Assert.That(InSubnet(addressB, _cluster.Nodes[1].Subnet), Is.True, $"node2's pod {addressB} is in node2's subnet");
        Assert.That(Poll.Until(() => podA.Ping(addressB), TimeSpan.FromSeconds(30)), Is.True, $"pod on node1 -> {addressB}");
        Assert.That(Poll.Until(() => podB.Ping(addressA), TimeSpan.FromSeconds(30)), Is.True, $"pod on node2 -> {addressA}");
    }
}
