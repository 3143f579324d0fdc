using System.Net;
using Overlay.Core.Services;
using Overlay.Daemon.Services;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.Services;

/// <summary>
/// Connections through the service table in a real kernel: a "node" namespace with a bridge, two backend pods and a
/// client pod on it (same-node endpoints, so replies are bridged and must pass netfilter), small TCP servers that
/// answer with their name and the address they see the client at.
/// </summary>
[NonParallelizable]
public class ServiceTrafficTests
{
    private const string Server = """
        import socket, sys
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", 8080))
        s.listen(128)
        while True:
            c, peer = s.accept()
            c.sendall(f"{sys.argv[1]} {peer[0]}\n".encode())
            c.close()
        """;

    private const string UdpServer = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", 5353))
        while True:
            data, peer = s.recvfrom(100)
            s.sendto(f"{sys.argv[1]} {peer[0]}".encode(), peer)
        """;

    private const string UdpClient = """
        import socket, sys
        for _ in range(int(sys.argv[3])):
            c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            c.settimeout(2)
            try:
                c.sendto(b"?", (sys.argv[1], int(sys.argv[2])))
                data, source = c.recvfrom(100)
                print(data.decode(), "from", source[0])
            except socket.timeout:
                print("timeout")
            except OSError as e:
                print("error", e)
            c.close()
        """;

    private const string Client = """
        import socket, sys
        for _ in range(int(sys.argv[3])):
            try:
                c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[4]))
                print(c.recv(100).decode().strip())
                c.close()
            except ConnectionRefusedError:
                print("refused")
            except socket.timeout:
                print("timeout")
            except OSError as e:
                print("error", e)
        """;

    private static readonly Frontend Web = new(IPAddress.Parse("198.19.0.23"), ServiceProtocol.Tcp, 80);
    private static readonly Frontend Empty = new(IPAddress.Parse("198.19.0.24"), ServiceProtocol.Tcp, 80);
    private static readonly Frontend Self = new(IPAddress.Parse("198.19.0.25"), ServiceProtocol.Tcp, 80);
    private static readonly Frontend Resolver = new(IPAddress.Parse("198.19.0.26"), ServiceProtocol.Udp, 53);

    private NetworkLab _lab = null!;
    private NetNs _node = null!;
    private NetNs _a = null!;
    private NetNs _b = null!;
    private NetNs _client = null!;

    [OneTimeSetUp]
    public async Task BuildTheNode()
    {
        Root.Require();
        _lab = NetworkLab.Create();
        _node = _lab.AddNamespace("node");
        _node.ExecChecked("sysctl", "-q", "-w", "net.ipv4.ip_forward=1");
        string bridge = _lab.AddBridge(_node, "br0");
        _node.AddAddress(bridge, "198.18.5.1/24");
        // The node's default route goes to its underlay, so the service network is routed and unserved addresses
        // reach the filter hooks. The far side holds 198.19.0.99 and would refuse it: only the table's drop makes it time out.
        NetNs underlay = _lab.AddNamespace("underlay");
        (string nodeUplink, string underlayEnd) = _lab.AddVethPair(_node, underlay);
        _node.AddAddress(nodeUplink, "203.0.113.1/24");
        _node.ExecChecked("ip", "route", "add", "default", "via", "203.0.113.2");
        underlay.AddAddress(underlayEnd, "203.0.113.2/24");
        underlay.AddAddress("lo", "198.19.0.99/32");
        underlay.ExecChecked("ip", "route", "add", "198.18.0.0/16", "via", "203.0.113.1");

        _a = Pod("a", "198.18.5.10");
        _b = Pod("b", "198.18.5.11");
        _client = Pod("client", "198.18.5.20");
        foreach (NetNs pod in new[] { _a, _b })
        {
            pod.Start("/usr/bin/python3", ["-c", Server, pod == _a ? "a" : "b"]);
            pod.Start("/usr/bin/python3", ["-c", UdpServer, pod == _a ? "a" : "b"]);
        }

        Assert.That(Poll.Until(() => Connect(_node, "198.18.5.10", 8080, 1)[0].StartsWith('a') && Connect(_node, "198.18.5.11", 8080, 1)[0].StartsWith('b'), TimeSpan.FromSeconds(20)),
            Is.True, "the servers listen");

        var table = new ServiceTable(nft: NftCommand.InNamespace(_node.Name));
        await table.ApplyAsync(new ServiceRulesInput(
            IPNetwork.Parse("198.19.0.0/16"),
            [IPNetwork.Parse("198.18.0.0/16")],
            new Dictionary<Frontend, IReadOnlyList<Backend>>
            {
                [Web] = [new(IPAddress.Parse("198.18.5.10"), 8080), new(IPAddress.Parse("198.18.5.11"), 8080)],
                [Empty] = [],
                [Self] = [new(IPAddress.Parse("198.18.5.10"), 8080)],
                [Resolver] = [new(IPAddress.Parse("198.18.5.10"), 5353), new(IPAddress.Parse("198.18.5.11"), 5353)],
            },
            [Web.ClusterIP, Empty.ClusterIP, Self.ClusterIP, Resolver.ClusterIP]), CancellationToken.None);
    }

    [OneTimeTearDown]
    public void RemoveTheNode() => _lab?.Dispose();

    private NetNs Pod(string name, string address)
    {
        NetNs pod = _lab.AddNamespace(name);
        (string nodeEnd, string podEnd) = _lab.AddVethPair(_node, pod, $"veth-{name}", "eth0");
        _lab.AttachToBridge(_node, nodeEnd, "br0");
        _node.ExecChecked("bridge", "link", "set", "dev", nodeEnd, "hairpin", "on");
        pod.AddAddress(podEnd, address + "/24");
        pod.ExecChecked("ip", "route", "add", "default", "via", "198.18.5.1");
        return pod;
    }

    private static string[] Connect(NetNs from, string address, int port, int times, double timeout = 2) =>
        from.Exec("/usr/bin/python3", "-c", Client, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            times.ToString(System.Globalization.CultureInfo.InvariantCulture), timeout.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    [Test]
    public void Connections_from_a_pod_reach_both_endpoints_which_see_the_pods_own_address()
    {
        string[] answers = Connect(_client, "198.19.0.23", 80, 40);

        Assert.That(answers, Has.Length.EqualTo(40));
        Assert.That(answers, Has.All.Matches<string>(a => a is "a 198.18.5.20" or "b 198.18.5.20"), string.Join('\n', answers));
        Assert.That(answers.Distinct().Count(), Is.EqualTo(2), "both endpoints are picked");
    }

    [Test]
    public void UDP_datagrams_from_a_pod_reach_both_endpoints_and_the_replies_come_back_from_the_ClusterIP()
    {
        string[] answers = _client.Exec("/usr/bin/python3", "-c", UdpClient, "198.19.0.26", "53", "30").StdOut
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        Assert.That(answers, Has.Length.EqualTo(30));
        Assert.That(answers, Has.All.Matches<string>(a => a is "a 198.18.5.20 from 198.19.0.26" or "b 198.18.5.20 from 198.19.0.26"), string.Join('\n', answers));
        Assert.That(answers.Distinct().Count(), Is.EqualTo(2), "both endpoints are picked");
    }

    [Test]
    public void A_node_process_reaches_the_service_masqueraded_to_the_node()
    {
        string[] answers = Connect(_node, "198.19.0.23", 80, 10);

        Assert.That(answers, Has.All.Matches<string>(a => a is "a 198.18.5.1" or "b 198.18.5.1"), string.Join('\n', answers));
    }

    [Test]
    public void A_pod_reaching_itself_through_its_service_is_masqueraded_hairpin()
    {
        string[] answers = Connect(_a, "198.19.0.25", 80, 3);

        Assert.That(answers, Is.EqualTo(new[] { "a 198.18.5.1", "a 198.18.5.1", "a 198.18.5.1" }));
    }

    [Test]
    public void A_service_without_endpoints_and_a_port_no_service_serves_are_refused_at_once()
    {
        Assert.That(Connect(_client, "198.19.0.24", 80, 1), Is.EqualTo(new[] { "refused" }));
        Assert.That(Connect(_client, "198.19.0.23", 81, 1), Is.EqualTo(new[] { "refused" }));
        Assert.That(Connect(_node, "198.19.0.24", 80, 1), Is.EqualTo(new[] { "refused" }), "from the node too (output hook)");
    }

    [Test]
    public void An_address_of_the_service_network_that_no_service_holds_is_dropped()
    {
        Assert.That(Connect(_client, "198.19.0.99", 80, 1, timeout: 0.5), Is.EqualTo(new[] { "timeout" }));
    }
}
