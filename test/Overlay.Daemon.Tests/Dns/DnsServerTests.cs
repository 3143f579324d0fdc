using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Overlay.Core.Dns;
using Overlay.Daemon.Dns;

namespace Overlay.Daemon.Tests.Dns;

/// <summary>The server and forwarder on real sockets on 127.0.0.1, with a stand-in answerer and fake upstreams.</summary>
public class DnsServerTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);
    private readonly List<IAsyncDisposable> _servers = [];
    private readonly List<FakeUpstream> _upstreams = [];

    private readonly ListLogger _log = new();

    [TearDown]
    public async Task StopEverything()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            await TestContext.Out.WriteLineAsync(_log.ToString());
        }

        _log.Lines.Clear();
        foreach (IAsyncDisposable server in _servers)
        {
            await server.DisposeAsync();
        }

        foreach (FakeUpstream upstream in _upstreams)
        {
            upstream.Dispose();
        }

        _servers.Clear();
        _upstreams.Clear();
    }

    [Test]
    public async Task A_UDP_query_in_the_zone_is_answered_from_the_address_it_was_sent_to()
    {
        DnsServer server = Serve([]);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        client.Bind(new IPEndPoint(IPAddress.Loopback, 0));

        await client.SendToAsync(TestMessages.Query(0x1234, "web.default.svc.cluster.test"), SocketFlags.None, server.LocalEndPoint);
        byte[] buffer = new byte[2048];
        using var patience = new CancellationTokenSource(Patience);
        SocketReceiveFromResult result = await client.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), patience.Token);
        byte[] reply = buffer[..result.ReceivedBytes];

        Assert.That(result.RemoteEndPoint, Is.EqualTo(server.LocalEndPoint));
        Assert.That(TestMessages.Id(reply), Is.EqualTo(0x1234));
        Assert.That(TestMessages.FirstAddress(reply), Is.EqualTo(TestAnswerer.ZoneAddress));
    }

    [Test]
    public async Task An_answer_too_large_for_UDP_is_cut_and_marked_truncated_and_comes_whole_over_TCP()
    {
        DnsServer server = Serve([]);

        byte[] overUdp = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(7, "many.cluster.test", ednsSize: 4096));
        byte[] overTcp = (await AskTcpAsync(server.LocalEndPoint, TestMessages.Query(8, "many.cluster.test")))[0];

        Assert.That(TestMessages.IsTruncated(overUdp), Is.True);
        Assert.That(overUdp, Has.Length.LessThanOrEqualTo(1232), "the server's UDP limit caps the client's EDNS size");
        Assert.That(TestMessages.IsTruncated(overTcp), Is.False);
        Assert.That(TestMessages.AnswerCount(overTcp), Is.EqualTo(200));
    }

    [Test]
    public async Task Several_queries_on_one_TCP_connection_are_answered_in_order()
    {
        DnsServer server = Serve([]);

        List<byte[]> replies = await AskTcpAsync(server.LocalEndPoint,
            TestMessages.Query(1, "a.cluster.test"), TestMessages.Query(2, "b.cluster.test"), TestMessages.Query(3, "c.cluster.test"));

        Assert.That(replies.Select(r => TestMessages.Id(r)), Is.EqualTo(new ushort[] { 1, 2, 3 }));
        Assert.That(replies.Select(r => TestMessages.QuestionName(r)), Is.EqualTo(new[] { "a.cluster.test", "b.cluster.test", "c.cluster.test" }));
    }

    [Test]
    public async Task Dig_gets_answers_over_UDP_and_TCP_in_the_zone_and_forwarded()
    {
        FakeUpstream upstream = Upstream(UpstreamBehaviour.Answers);
        DnsServer server = Serve([upstream.EndPoint]);

        string udp = await DigAsync(server.LocalEndPoint, "web.default.svc.cluster.test");
        string tcp = await DigAsync(server.LocalEndPoint, "web.default.svc.cluster.test", "+tcp");
        string forwarded = await DigAsync(server.LocalEndPoint, "www.example.test");
        string forwardedOverTcp = await DigAsync(server.LocalEndPoint, "www.example.test", "+tcp");

        Assert.That(udp, Is.EqualTo("192.0.2.10"));
        Assert.That(tcp, Is.EqualTo("192.0.2.10"));
        Assert.That(forwarded, Is.EqualTo("203.0.113.1"));
        Assert.That(forwardedOverTcp, Is.EqualTo("203.0.113.1"));
    }

    [Test]
    public async Task A_forwarded_query_goes_upstream_unchanged_but_for_an_ID_of_ours_and_comes_back_with_the_clients()
    {
        FakeUpstream upstream = Upstream(UpstreamBehaviour.Answers);
        DnsServer server = Serve([upstream.EndPoint]);
        byte[] query = TestMessages.Query(0x4242, "www.example.test", ednsSize: 1232);

        var replies = new List<byte[]>();
        for (int i = 0; i < 8; i++)
        {
            replies.Add(await AskUdpAsync(server.LocalEndPoint, query));
        }

        byte[][] sent = [.. upstream.UdpQueries];
        Assert.That(replies.Select(r => TestMessages.Id(r)), Has.All.EqualTo(0x4242));
        Assert.That(replies.Select(r => TestMessages.FirstAddress(r)), Has.All.EqualTo(upstream.Address));
        Assert.That(sent, Has.Length.EqualTo(8));
        Assert.That(sent.Select(s => s[2..]), Has.All.EqualTo(query[2..]), "everything after the ID, the EDNS OPT too, goes unchanged");
        Assert.That(sent.Select(s => TestMessages.Id(s)).Distinct().Count(), Is.GreaterThan(1), "each forward gets a random ID of ours");
    }

    [Test]
    public async Task A_truncated_upstream_reply_is_asked_again_over_TCP_for_a_TCP_client()
    {
        FakeUpstream upstream = Upstream(UpstreamBehaviour.TruncatesOverUdp);
        DnsServer server = Serve([upstream.EndPoint]);

        byte[] reply = (await AskTcpAsync(server.LocalEndPoint, TestMessages.Query(0x0101, "big.example.test")))[0];

        Assert.That(TestMessages.IsTruncated(reply), Is.False);
        Assert.That(TestMessages.AnswerCount(reply), Is.EqualTo(200));
        Assert.That(TestMessages.Id(reply), Is.EqualTo(0x0101));
        Assert.That(upstream.UdpQueries, Has.Count.EqualTo(1), "UDP first");
        Assert.That(upstream.TcpQueries, Has.Count.EqualTo(1), "then TCP to the same upstream");
    }

    [Test]
    public async Task A_UDP_client_gets_the_truncated_upstream_reply_to_retry_over_TCP_itself()
    {
        FakeUpstream upstream = Upstream(UpstreamBehaviour.TruncatesOverUdp);
        DnsServer server = Serve([upstream.EndPoint]);

        byte[] reply = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(0x0202, "big.example.test"));

        Assert.That(TestMessages.IsTruncated(reply), Is.True);
        Assert.That(TestMessages.Id(reply), Is.EqualTo(0x0202));
        Assert.That(upstream.TcpQueries, Is.Empty);
    }

    [Test]
    public async Task An_upstream_that_stays_silent_is_skipped_for_the_next_after_the_timeout_and_the_one_that_answered_is_asked_first()
    {
        var time = new FakeTimeProvider();
        FakeUpstream silent = Upstream(UpstreamBehaviour.Silent);
        FakeUpstream answering = Upstream(UpstreamBehaviour.Answers);
        DnsServer server = Serve([silent.EndPoint, answering.EndPoint], time);

        Task<byte[]> first = AskUdpAsync(server.LocalEndPoint, TestMessages.Query(1, "www.example.test"));
        Assert.That(await silent.Received.WaitAsync(Patience), Is.True, "the first upstream is asked first");
        time.Advance(TimeSpan.FromSeconds(1.4));
        Assert.That(await answering.Received.WaitAsync(TimeSpan.FromMilliseconds(300)), Is.False, "the next is not asked before the timeout");
        time.Advance(TimeSpan.FromSeconds(0.1));
        byte[] reply = await first;

        byte[] second = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(2, "www.example.test"));

        Assert.That(TestMessages.FirstAddress(reply), Is.EqualTo(answering.Address));
        Assert.That(TestMessages.FirstAddress(second), Is.EqualTo(answering.Address));
        Assert.That(silent.UdpQueries, Has.Count.EqualTo(1), "the silent one is not asked again while the other answers");
        Assert.That(answering.UdpQueries, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task Replies_with_another_ID_or_another_question_are_ignored()
    {
        FakeUpstream upstream = Upstream(UpstreamBehaviour.SendsMismatchedRepliesFirst);
        DnsServer server = Serve([upstream.EndPoint]);

        byte[] reply = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(9, "www.example.test"));

        Assert.That(TestMessages.FirstAddress(reply), Is.EqualTo(upstream.Address));
        Assert.That(TestMessages.QuestionName(reply), Is.EqualTo("www.example.test"));
    }

    [Test]
    public async Task When_every_upstream_fails_the_client_gets_SERVFAIL_with_its_question()
    {
        IPEndPoint nobody = UnusedUdpPort();
        DnsServer server = Serve([nobody]);

        var clock = Stopwatch.StartNew();
        byte[] reply = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(5, "www.example.test"));

        Assert.That(TestMessages.Code(reply), Is.EqualTo(DnsResponseCode.ServerFailure));
        Assert.That(TestMessages.Id(reply), Is.EqualTo(5));
        Assert.That(TestMessages.QuestionName(reply), Is.EqualTo("www.example.test"));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "a refused port fails at once, not after the timeout");
    }

    [Test]
    public async Task With_no_upstream_names_outside_the_zone_get_SERVFAIL()
    {
        DnsServer server = Serve([]);

        byte[] reply = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(6, "www.example.test"));

        Assert.That(TestMessages.Code(reply), Is.EqualTo(DnsResponseCode.ServerFailure));
    }

    [Test]
    public async Task Garbage_over_UDP_neither_crashes_nor_stalls_the_server()
    {
        FakeUpstream upstream = Upstream(UpstreamBehaviour.Answers);
        DnsServer server = Serve([upstream.EndPoint]);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var random = new Random(13);
        byte[] response = TestMessages.Answer(TestMessages.Query(1, "www.example.test"), IPAddress.Loopback);

        List<byte[]> garbage = [[], [0], new byte[11], response, new byte[5000], TestMessages.Query(2, "throw.cluster.test")];
        for (int i = 0; i < 300; i++)
        {
            byte[] packet = new byte[random.Next(0, 600)];
            random.NextBytes(packet);
            garbage.Add(packet);
        }

        foreach (byte[] packet in garbage)
        {
            await client.SendToAsync(packet, SocketFlags.None, server.LocalEndPoint);
        }

        // A burst like this overflows the socket's receive buffer, and the kernel drops what does not fit: a client
        // asks again, as a stub resolver does.
        byte[] inZone = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(3, "web.cluster.test"), retryEvery: TimeSpan.FromMilliseconds(500));
        byte[] forwarded = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(4, "www.example.test"), retryEvery: TimeSpan.FromMilliseconds(500));

        Assert.That(TestMessages.FirstAddress(inZone), Is.EqualTo(TestAnswerer.ZoneAddress));
        Assert.That(TestMessages.FirstAddress(forwarded), Is.EqualTo(upstream.Address));
    }

    [Test]
    public async Task Garbage_over_TCP_closes_that_connection_only()
    {
        DnsServer server = Serve([]);
        using var patience = new CancellationTokenSource(Patience);

        foreach (byte[] bytes in new byte[][] { [0, 3, 1, 2, 3], [0xFF, 0xFF, 1, 2, 3], [0, 0], [0, 11, .. new byte[11]] })
        {
            using Socket connection = await ConnectAsync(server.LocalEndPoint);
            await connection.SendAsync(bytes, SocketFlags.None);
            Assert.That(await ClosedByServerAsync(connection, patience.Token), Is.True, $"{Convert.ToHexString(bytes)} closes the connection");
        }

        using (Socket halfSent = await ConnectAsync(server.LocalEndPoint))
        {
            await halfSent.SendAsync(new byte[] { 0, 40, 1, 2 }, SocketFlags.None);
        }

        byte[] reply = (await AskTcpAsync(server.LocalEndPoint, TestMessages.Query(1, "web.cluster.test")))[0];

        Assert.That(TestMessages.FirstAddress(reply), Is.EqualTo(TestAnswerer.ZoneAddress));
    }

    [Test]
    public async Task A_TCP_connection_idle_for_the_timeout_is_closed()
    {
        var time = new FakeTimeProvider();
        DnsServer server = Serve([], time);
        using Socket connection = await ConnectAsync(server.LocalEndPoint);
        await TestTcp.WriteMessageAsync(connection, TestMessages.Query(1, "web.cluster.test"), CancellationToken.None);
        using var patience = new CancellationTokenSource(Patience);
        _ = await TestTcp.ReadMessageAsync(connection, patience.Token);

        await WaitForAsync(() =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            return server.OpenTcpConnections == 0;
        }, "the server closes it");

        Assert.That(await ClosedByServerAsync(connection, patience.Token), Is.True);
    }

    [Test]
    public async Task TCP_connections_beyond_the_cap_are_closed_at_once_and_served_again_when_one_leaves()
    {
        DnsServer server = Serve([], limits: new DnsServerLimits { MaxTcpConnections = 4 });
        var held = new List<Socket>();
        for (int i = 0; i < 4; i++)
        {
            held.Add(await ConnectAsync(server.LocalEndPoint));
        }

        await WaitForAsync(() => server.OpenTcpConnections == 4, "the four are open");
        using var patience = new CancellationTokenSource(Patience);
        using (Socket fifth = await ConnectAsync(server.LocalEndPoint))
        {
            Assert.That(await ClosedByServerAsync(fifth, patience.Token), Is.True, "the fifth is closed");
        }

        held[0].Dispose();
        await WaitForAsync(() => server.OpenTcpConnections == 3, "the server sees one leave");
        byte[] reply = (await AskTcpAsync(server.LocalEndPoint, TestMessages.Query(1, "web.cluster.test")))[0];

        Assert.That(TestMessages.FirstAddress(reply), Is.EqualTo(TestAnswerer.ZoneAddress));
        foreach (Socket socket in held)
        {
            socket.Dispose();
        }
    }

    [Test]
    public async Task A_flood_of_TCP_connections_is_held_to_the_cap_and_UDP_is_still_answered()
    {
        DnsServer server = Serve([], limits: new DnsServerLimits { MaxTcpConnections = 16 });
        var flood = new List<Socket>();
        for (int i = 0; i < 200; i++)
        {
            flood.Add(await ConnectAsync(server.LocalEndPoint));
        }

        byte[] reply = await AskUdpAsync(server.LocalEndPoint, TestMessages.Query(1, "web.cluster.test"));

        Assert.That(server.OpenTcpConnections, Is.LessThanOrEqualTo(16));
        Assert.That(TestMessages.FirstAddress(reply), Is.EqualTo(TestAnswerer.ZoneAddress));
        foreach (Socket socket in flood)
        {
            socket.Dispose();
        }
    }

    [Test]
    public async Task Stopping_ends_the_forwards_in_flight_and_frees_the_port()
    {
        FakeUpstream silent = Upstream(UpstreamBehaviour.Silent);
        var time = new FakeTimeProvider();
        var server = new DnsServer(new IPEndPoint(IPAddress.Loopback, 0), new TestAnswerer(),
            new DnsForwarder([silent.EndPoint], NullLogger.Instance, time), NullLogger.Instance, time);
        server.Start();
        IPEndPoint served = server.LocalEndPoint;
        using Socket idle = await ConnectAsync(served);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        await client.SendToAsync(TestMessages.Query(1, "www.example.test"), SocketFlags.None, served);
        Assert.That(await silent.Received.WaitAsync(Patience), Is.True);

        Task stopping = server.DisposeAsync().AsTask();

        Assert.That(await Task.WhenAny(stopping, Task.Delay(Patience)), Is.SameAs(stopping), "it stops without waiting for the upstream");
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.DoesNotThrow(() => udp.Bind(served), "the UDP port is free again");
        Assert.That(await ConnectFailsAsync(served), Is.True, "nothing listens on TCP");
    }

    [Test]
    public void The_server_binds_an_address_the_node_does_not_have_yet()
    {
        var address = new IPEndPoint(IPAddress.Parse("192.0.2.153"), 0);
        Assume.That(System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address), Has.None.EqualTo(address.Address));
        using (var plain = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            Assert.That(() => plain.Bind(address), Throws.TypeOf<SocketException>(), "without IP_FREEBIND the kernel refuses it");
        }

        var server = new DnsServer(address, new TestAnswerer(), new DnsForwarder([], NullLogger.Instance, TimeProvider.System), NullLogger.Instance, TimeProvider.System);
        _servers.Add(server);

        Assert.DoesNotThrow(server.Start);
        Assert.That(server.LocalEndPoint.Address, Is.EqualTo(address.Address));
        Assert.That(server.LocalEndPoint.Port, Is.Not.Zero);
    }

    [Test]
    public async Task Forwards_beyond_the_in_flight_cap_get_SERVFAIL_at_once()
    {
        var time = new FakeTimeProvider();
        FakeUpstream silent = Upstream(UpstreamBehaviour.Silent);
        var forwarder = new DnsForwarder([silent.EndPoint], NullLogger.Instance, time, new DnsForwarderLimits { MaxInFlight = 1 });
        byte[] response = new byte[DnsForwarder.MaxMessageSize];
        byte[] other = new byte[DnsForwarder.MaxMessageSize];

        Task<int> waiting = forwarder.ForwardAsync(TestMessages.Query(1, "a.example.test"), response, overTcp: false, CancellationToken.None).AsTask();
        Assert.That(await silent.Received.WaitAsync(Patience), Is.True);
        Task<int> refused = forwarder.ForwardAsync(TestMessages.Query(2, "b.example.test"), other, overTcp: false, CancellationToken.None).AsTask();

        Assert.That(refused.IsCompleted, Is.True);
        Assert.That(TestMessages.Code(other.AsSpan(0, await refused)), Is.EqualTo(DnsResponseCode.ServerFailure));
        Assert.That(forwarder.InFlight, Is.EqualTo(1));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(TestMessages.Code(response.AsSpan(0, await waiting)), Is.EqualTo(DnsResponseCode.ServerFailure), "the silent upstream times out");
        Assert.That(forwarder.InFlight, Is.Zero);
    }

    [Test]
    public void The_forwarder_for_a_node_reads_resolv_conf_and_leaves_out_the_loops()
    {
        string path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"resolv-{Guid.NewGuid():N}.conf");
        File.WriteAllText(path, "nameserver 198.18.0.10\nnameserver 192.0.2.53\n");
        try
        {
            DnsForwarder fromFile = DnsForwarder.ForNode(null, path, new IPEndPoint(IPAddress.Parse("100.64.1.0"), 53), IPAddress.Parse("198.18.0.10"), NullLogger.Instance, TimeProvider.System);
            DnsForwarder fromFlag = DnsForwarder.ForNode([new IPEndPoint(IPAddress.Parse("198.51.100.53"), 5353)], path, new IPEndPoint(IPAddress.Parse("100.64.1.0"), 53), null, NullLogger.Instance, TimeProvider.System);
            DnsForwarder noFile = DnsForwarder.ForNode(null, path + ".missing", new IPEndPoint(IPAddress.Parse("100.64.1.0"), 53), null, NullLogger.Instance, TimeProvider.System);

            Assert.That(fromFile.Upstreams, Is.EqualTo(new[] { new IPEndPoint(IPAddress.Parse("192.0.2.53"), 53) }));
            Assert.That(fromFlag.Upstreams, Is.EqualTo(new[] { new IPEndPoint(IPAddress.Parse("198.51.100.53"), 5353) }));
            Assert.That(noFile.Upstreams, Is.Empty);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private DnsServer Serve(IReadOnlyList<IPEndPoint> upstreams, TimeProvider? time = null, DnsServerLimits? limits = null)
    {
        time ??= TimeProvider.System;
        var server = new DnsServer(new IPEndPoint(IPAddress.Loopback, 0), new TestAnswerer(),
            new DnsForwarder(upstreams, _log, time), _log, time, limits);
        _servers.Add(server);
        server.Start();
        return server;
    }

    private FakeUpstream Upstream(UpstreamBehaviour behaviour)
    {
        var upstream = new FakeUpstream(behaviour, IPAddress.Parse($"203.0.113.{_upstreams.Count + 1}"));
        _upstreams.Add(upstream);
        return upstream;
    }

    private static async Task<byte[]> AskUdpAsync(IPEndPoint server, byte[] query, TimeSpan? retryEvery = null)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        await client.ConnectAsync(server);
        byte[] buffer = new byte[65536];
        using var patience = new CancellationTokenSource(Patience);
        while (true)
        {
            await client.SendAsync(query, SocketFlags.None);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(patience.Token);
            attempt.CancelAfter(retryEvery ?? Patience);
            try
            {
                int received = await client.ReceiveAsync(buffer, SocketFlags.None, attempt.Token);
                return buffer[..received];
            }
            catch (OperationCanceledException) when (!patience.IsCancellationRequested)
            {
            }
        }
    }

    private static async Task<List<byte[]>> AskTcpAsync(IPEndPoint server, params byte[][] queries)
    {
        using Socket connection = await ConnectAsync(server);
        using var patience = new CancellationTokenSource(Patience);
        foreach (byte[] query in queries)
        {
            await TestTcp.WriteMessageAsync(connection, query, patience.Token);
        }

        var replies = new List<byte[]>();
        foreach (byte[] _ in queries)
        {
            replies.Add(await TestTcp.ReadMessageAsync(connection, patience.Token));
        }

        return replies;
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint server)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server);
        return socket;
    }

    private static async Task<bool> ConnectFailsAsync(IPEndPoint server)
    {
        try
        {
            using Socket socket = await ConnectAsync(server);
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }

    /// <summary>The server closed the connection: an orderly end, or a reset when it left bytes of ours unread.</summary>
    private static async Task<bool> ClosedByServerAsync(Socket connection, CancellationToken ct)
    {
        try
        {
            return await connection.ReceiveAsync(new byte[16], SocketFlags.None, ct) == 0;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
    }

    private static IPEndPoint UnusedUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)probe.LocalEndPoint!;
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > Patience)
            {
                Assert.Fail($"timed out waiting until {what}");
            }

            await Task.Delay(20);
        }
    }

    private static async Task<string> DigAsync(IPEndPoint server, string name, params string[] options)
    {
        var start = new ProcessStartInfo("dig") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in (string[])[$"@{server.Address}", "-p", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), name, "A", "+short", "+time=2", "+tries=1", .. options])
        {
            start.ArgumentList.Add(argument);
        }

        using Process dig = Process.Start(start)!;
        string output = await dig.StandardOutput.ReadToEndAsync();
        await dig.WaitForExitAsync();
        return output.Trim();
    }
}
