using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Overlay.Leases.Etcd;
using Overlay.TestKit;

namespace Overlay.Leases.Tests.Etcd;

/// <summary>
/// A connection that was accepted but is never served (made while etcd was starting, or to a peer gone silent) must not
/// hold the session's calls: after two timeouts in a row the session opens a new connection, which reaches etcd.
/// </summary>
public sealed class SilentConnectionTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Calls_reach_etcd_once_the_connection_they_hung_on_is_replaced(CancellationToken ct)
    {
        // The port accepts and holds every connection, and answers nothing.
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        int port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var held = new List<Socket>();
        Task holding = HoldAsync(silent, held);
        var options = new EtcdOptions { Endpoints = [$"http://127.0.0.1:{port}"], Prefix = "/silent", CallTimeout = TimeSpan.FromSeconds(1) };
        await using var session = new EtcdSession(options);
        EtcdServer? etcd = null;
        try
        {
            string? first = await session.ProbeAsync(ct);
            string? second = await session.ProbeAsync(ct);
            int connectionsHeld = held.Count;

            // etcd takes the port; the silent connections stay open, unanswered.
            silent.Stop();
            await holding;
            etcd = await EtcdServer.StartAsync(new EtcdServerOptions { ClientPort = port, PeerPort = FreePort() }, ct);
            var clock = Stopwatch.StartNew();
            string? now = await session.ProbeAsync(ct);
            while (now is not null && clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                now = await session.ProbeAsync(ct);
            }

            await TestContext.Out.WriteLineAsync($"the session reached etcd {clock.Elapsed.TotalMilliseconds:0} ms after it answered; connections replaced: {session.ConnectionsReplaced}");
            Assert.That(connectionsHeld, Is.GreaterThan(0), "the session never connected to the silent port");
            Assert.That(first, Is.EqualTo("no answer within 1 s"));
            Assert.That(second, Is.EqualTo("no answer within 1 s"));
            Assert.That(session.ConnectionsReplaced, Is.GreaterThanOrEqualTo(1));
            Assert.That(now, Is.Null, "the session still got no answer from etcd 30 s after etcd answered");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        }
        finally
        {
            silent.Stop();
            foreach (Socket socket in held)
            {
                socket.Dispose();
            }

            if (etcd is not null)
            {
                etcd.AttachLogIfFailed();
                await etcd.DisposeAsync();
            }
        }
    }

    private static async Task HoldAsync(TcpListener listener, List<Socket> held)
    {
        try
        {
            while (true)
            {
                held.Add(await listener.AcceptSocketAsync());
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
