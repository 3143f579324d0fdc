using System.Net;
using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Plugin;

/// <summary>The built plugin against Debian's bridge and host-local, in a node namespace the test owns.</summary>
[NonParallelizable]
public class BridgeDelegationTests
{
    private PodNetwork _network = null!;

    [SetUp]
    public void CreateNode()
    {
        Root.Require();
        _network = new PodNetwork();
    }

    [TearDown]
    public void RemoveNode() => _network?.Dispose();

    private static string PodAddress(CniOutcome add) => add.Json.GetProperty("ips")[0].GetProperty("address").GetString()!;

    [Test]
    public void ADD_gives_the_pod_eth0_an_address_of_the_node_subnet_and_a_route_to_the_network_via_the_gateway()
    {
        CniOutcome add = _network.Run("ADD", "pod1").EnsureSuccess();

        string cidr = PodAddress(add);
        Assert.That(IPNetwork.Parse("198.18.34.0/24").Contains(IPAddress.Parse(cidr.Split('/')[0])), Is.True, cidr);
        Assert.That(add.Json.GetProperty("cniVersion").GetString(), Is.EqualTo("1.0.0"));
        NetNs pod = _network.Pod("pod1");
        JsonElement eth0 = pod.IpJson("addr", "show", "dev", "eth0")[0];
        Assert.That(eth0.GetProperty("addr_info").EnumerateArray().Where(a => a.GetProperty("family").GetString() == "inet")
            .Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()}"), Is.EqualTo(new[] { cidr }));
        Assert.That(eth0.GetProperty("mtu").GetInt32(), Is.EqualTo(1400), "FLANNEL_MTU");
        JsonElement route = pod.IpJson("route", "show", "198.18.0.0/16")[0];
        Assert.That(route.GetProperty("gateway").GetString(), Is.EqualTo("198.18.34.1"));
        Assert.That(_network.Node.IpJson("addr", "show", "dev", "cni0")[0].GetProperty("addr_info")[0].GetProperty("local").GetString(), Is.EqualTo("198.18.34.1"));
        Assert.That(pod.Ping("198.18.34.1"), Is.True, "the pod reaches its gateway on the node's bridge");
    }

    [Test]
    public void ADD_keeps_the_rendered_delegate_in_the_data_dir()
    {
        _network.Run("ADD", "pod1").EnsureSuccess();

        using var stored = JsonDocument.Parse(File.ReadAllText(Path.Combine(_network.DataDir, "pod1")));
        Assert.That(stored.RootElement.GetProperty("type").GetString(), Is.EqualTo("bridge"));
        Assert.That(stored.RootElement.GetProperty("ipMasq").GetBoolean(), Is.False, "overlayd masquerades (FLANNEL_IPMASQ=true)");
        Assert.That(stored.RootElement.GetProperty("ipam").GetProperty("dataDir").GetString(), Is.EqualTo(_network.IpamDataDir));
    }

    [Test]
    public void CHECK_after_ADD_succeeds()
    {
        CniOutcome add = _network.Run("ADD", "pod1").EnsureSuccess();

        CniOutcome check = _network.Run("CHECK", "pod1", _network.Config(prevResult: add.Json));

        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
    }

    [Test]
    public void CHECK_fails_when_the_pods_address_was_taken_away()
    {
        CniOutcome add = _network.Run("ADD", "pod1").EnsureSuccess();
        _network.Pod("pod1").ExecChecked("ip", "addr", "flush", "dev", "eth0");

        CniOutcome check = _network.Run("CHECK", "pod1", _network.Config(prevResult: add.Json));

        Assert.That(check.ExitCode, Is.Not.EqualTo(0), check.ToString());
        Assert.That(check.Json.GetProperty("code").GetInt32(), Is.GreaterThan(0));
    }

    [Test]
    public void DEL_removes_the_veth_releases_the_address_and_forgets_the_container()
    {
        CniOutcome add = _network.Run("ADD", "pod1").EnsureSuccess();
        string address = PodAddress(add).Split('/')[0];
        Assert.That(_network.ReservedAddresses(), Is.EqualTo(new[] { address }));

        CniOutcome del = _network.Run("DEL", "pod1", _network.Config(prevResult: add.Json));

        Assert.That(del.ExitCode, Is.EqualTo(0), del.ToString());
        Assert.That(_network.Pod("pod1").Exec("ip", "link", "show", "eth0").ExitCode, Is.Not.EqualTo(0), "eth0 is gone from the pod");
        Assert.That(_network.Node.IpJson("link", "show", "type", "veth").GetArrayLength(), Is.Zero, "the node keeps no veth");
        Assert.That(_network.ReservedAddresses(), Is.Empty);
        Assert.That(File.Exists(Path.Combine(_network.DataDir, "pod1")), Is.False);
    }

    [Test]
    public void DEL_works_from_the_stored_delegate_after_subnet_env_changed_and_vanished()
    {
        CniOutcome add = _network.Run("ADD", "pod1").EnsureSuccess();
        File.WriteAllText(_network.SubnetFile, PodNetwork.SubnetEnvText.Replace("198.18.34.1/24", "198.18.99.1/24", StringComparison.Ordinal));
        File.Delete(_network.SubnetFile);

        CniOutcome del = _network.Run("DEL", "pod1", _network.Config(prevResult: add.Json));

        Assert.That(del.ExitCode, Is.EqualTo(0), del.ToString());
        Assert.That(_network.ReservedAddresses(), Is.Empty, "host-local released the address of the old subnet");
        Assert.That(_network.Pod("pod1").Exec("ip", "link", "show", "eth0").ExitCode, Is.Not.EqualTo(0));
    }

    [Test]
    public void A_second_DEL_of_the_same_container_succeeds()
    {
        _network.Run("ADD", "pod1").EnsureSuccess();
        _network.Run("DEL", "pod1").EnsureSuccess();

        CniOutcome again = _network.Run("DEL", "pod1");

        Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
        Assert.That(again.StdOut, Is.Empty);
    }

    [Test]
    public void Two_pods_get_distinct_addresses_and_reach_each_other_over_the_bridge()
    {
        string a = PodAddress(_network.Run("ADD", "pod1").EnsureSuccess()).Split('/')[0];
        string b = PodAddress(_network.Run("ADD", "pod2").EnsureSuccess()).Split('/')[0];

        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(_network.Pod("pod1").Ping(b), Is.True);
    }
}
