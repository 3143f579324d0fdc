using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Overlay.Daemon.Health;
using Overlay.Daemon.Options;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.Health;

/// <summary>A real HealthServer on loopback, with real sockets; its clock is a fake, so no test waits for a timeout.</summary>
public class HealthServerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    private FakeTimeProvider time = null!;
    private DaemonStatus status = null!;
    private HealthServer server = null!;
    private int port;

    [SetUp]
    public async Task StartServer()
    {
        time = new FakeTimeProvider(MetricsFormatTests.T0);
        status = new DaemonStatus(time);
        port = FreeLoopbackPort();
        server = new HealthServer(new DaemonOptions { HealthzIP = "127.0.0.1", HealthzPort = port }, status, NullLogger<HealthServer>.Instance, time);
        await server.StartAsync(CancellationToken.None);
        Assert.That(await Poll.UntilAsync(async () => (await TryGetAsync("/healthz"))?.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) == true, Bound), Is.True, "the server did not start");
    }

    [TearDown]
    public async Task StopServer()
    {
        await server.StopAsync(CancellationToken.None);
        server.Dispose();
        status.Dispose();
    }

    [Test]
    public async Task Connections_beyond_the_limit_are_answered_503_at_once_and_healthz_answers_again_once_they_are_closed()
    {
        List<TcpClient> idle = [];
        try
        {
            for (int i = 0; i < HealthServer.MaxConnections; i++)
            {
                var client = new TcpClient();
                idle.Add(client);
                await client.ConnectAsync(IPAddress.Loopback, port);
            }

            Assert.That(Poll.Until(() => server.Connections == HealthServer.MaxConnections, Bound), Is.True, $"{server.Connections} connections served");
            string refused = await GetAsync("/healthz");

            Assert.That(refused, Does.StartWith("HTTP/1.1 503 Service Unavailable\r\n"));
            Assert.That(refused, Does.Contain("\r\nRetry-After: 1\r\n"));
            Assert.That(refused, Does.EndWith("\r\n\r\ntoo many connections to the health endpoint (16 at once); try again\n"));
            Assert.That(server.Connections, Is.EqualTo(HealthServer.MaxConnections), "a refused connection is not served");
        }
        finally
        {
            idle.ForEach(c => c.Dispose());
        }

        Assert.That(Poll.Until(() => server.Connections == 0, Bound), Is.True, $"{server.Connections} connections still served after the clients closed");
        Assert.That(await GetAsync("/healthz"), Does.StartWith("HTTP/1.1 200 OK\r\n").And.EndWith("\r\n\r\nok\n"));
    }

    [Test]
    public async Task A_client_that_sends_nothing_is_closed_once_its_time_is_up()
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = client.GetStream();
        Assert.That(Poll.Until(() => server.Connections == 1, Bound), Is.True);

        time.Advance(HealthServer.ClientTimeout - TimeSpan.FromMilliseconds(1));
        Task<int> read = stream.ReadAsync(new byte[64]).AsTask();
        bool closedEarly = read.Wait(TimeSpan.FromMilliseconds(300));
        time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.That(closedEarly, Is.False, "closed before its time was up");
        Assert.That(read.Wait(Bound), Is.True, "still open after its time was up");
        Assert.That(read.Result, Is.Zero, "closed without an answer");
        Assert.That(Poll.Until(() => server.Connections == 0, Bound), Is.True);
    }

    [Test]
    public async Task A_request_head_over_the_limit_is_answered_431_and_a_request_sent_in_pieces_is_served()
    {
        const string start = "GET /healthz HTTP/1.1\r\nX-Filler: ";
        string tooLong = await SendAsync(start + new string('a', HealthServer.MaxRequestHeadBytes - start.Length)); // no end of the head in the limit
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = client.GetStream();
        foreach (string piece in new[] { "GET /met", "rics HTTP/1.1\r\nHost: x\r\n", "\r\n" })
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(piece));
            await Task.Delay(50);
        }

        string metrics = await ReadToEndAsync(stream);

        Assert.That(tooLong, Does.StartWith("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        Assert.That(metrics, Does.StartWith("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n").And.Contain("\n# TYPE overlay_ready gauge\n"));
    }

    [Test]
    public async Task The_metrics_response_is_the_rendered_text_with_its_length()
    {
        status.SetPeers(3, 0);

        string response = await GetAsync("/metrics");

        string body = status.RenderMetrics();
        string head = response[..(response.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)];
        Assert.That(head, Is.EqualTo($"HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(response[head.Length..])}\r\nConnection: close\r\n\r\n"));
        Assert.That(MetricsFormatTests.Shape(response[head.Length..]), Is.EqualTo(MetricsFormatTests.Shape(body)));
        Assert.That(response, Does.Contain("\noverlay_peers_programmed 3\n"));
    }

    private async Task<string> GetAsync(string path) => await SendAsync($"GET {path} HTTP/1.0\r\n\r\n");

    private async Task<string?> TryGetAsync(string path)
    {
        try
        {
            return await GetAsync(path);
        }
        catch (SocketException)
        {
            return null;
        }
    }

    private async Task<string> SendAsync(string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        return await ReadToEndAsync(stream);
    }

    private static async Task<string> ReadToEndAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(Bound);
        using var reader = new StreamReader(stream, Encoding.UTF8, leaveOpen: true);
        return await reader.ReadToEndAsync(timeout.Token);
    }

    private static int FreeLoopbackPort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int free = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return free;
    }
}
