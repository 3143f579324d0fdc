using System.Net.Sockets;
using NUnit.Framework;
using Overlay.TestKit;

namespace Overlay.TestKit.Tests;

/// <summary>The service tests' backends and clients: sockets made inside namespaces.</summary>
public class EchoServerTests
{
    private NetworkLab lab = null!;
    private NetNs client = null!;
    private NetNs server = null!;

    [SetUp]
    public void CreateLab()
    {
        Root.Require();
        lab = NetworkLab.Create();
        client = lab.AddNamespace("c");
        server = lab.AddNamespace("s");
        var (a, b) = lab.AddVethPair(client, server);
        client.AddAddress(a, "198.18.0.1/24");
        server.AddAddress(b, "198.18.0.2/24");
    }

    [TearDown]
    public void DisposeLab() => lab?.Dispose();

    [Test]
    public async Task A_server_in_one_namespace_names_itself_and_the_client_address_over_TCP_and_UDP()
    {
        await using EchoServer echo = EchoServer.Start(server.Name, "backend-a", 8080);

        EchoReply tcp = await EchoClient.AskTcpAsync(client.Name, "198.18.0.2", 8080);
        EchoReply udp = await EchoClient.AskUdpAsync(client.Name, "198.18.0.2", 8080);

        Assert.That(tcp.Text, Is.EqualTo("backend-a 198.18.0.1"));
        Assert.That(udp.Text, Is.EqualTo("backend-a 198.18.0.1"));
        Assert.That(echo.Clients, Is.EqualTo(new[] { "198.18.0.1", "198.18.0.1" }));
    }

    [Test]
    public async Task A_port_nobody_listens_on_is_refused_and_an_open_connection_echoes_lines()
    {
        await using EchoServer echo = EchoServer.Start(server.Name, "backend-a", 8080);

        EchoReply refused = await EchoClient.AskTcpAsync(client.Name, "198.18.0.2", 8081);
        using EchoConnection open = await EchoClient.OpenAsync(client.Name, "198.18.0.2", 8080);

        Assert.That(refused.Error, Is.EqualTo(SocketError.ConnectionRefused));
        Assert.That(open.Greeting, Is.EqualTo("backend-a 198.18.0.1"));
        Assert.That(await open.EchoAsync("ping 1"), Is.EqualTo("ping 1"));
        Assert.That(await open.EchoAsync("ping 2"), Is.EqualTo("ping 2"));
    }
}
