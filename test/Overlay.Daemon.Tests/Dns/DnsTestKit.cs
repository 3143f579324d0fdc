using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Overlay.Core.Dns;

namespace Overlay.Daemon.Tests.Dns;

/// <summary>DNS messages made and read by hand for the server's tests (independent of the codec under test elsewhere).</summary>
internal static class TestMessages
{
    public static byte[] Query(ushort id, string name, DnsType type = DnsType.A, ushort? ednsSize = null)
    {
        var bytes = new List<byte>();
        bytes.AddRange([(byte)(id >> 8), (byte)id, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, (byte)(ednsSize is null ? 0 : 1)]);
        bytes.AddRange(Name(name));
        bytes.AddRange([(byte)((ushort)type >> 8), (byte)type, 0, 1]);
        if (ednsSize is { } size)
        {
            bytes.AddRange([0, 0, 41, (byte)(size >> 8), (byte)size, 0, 0, 0, 0, 0, 0]);
        }

        return [.. bytes];
    }

    public static byte[] Name(string name)
    {
        var bytes = new List<byte>();
        foreach (string label in name.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }

        bytes.Add(0);
        return [.. bytes];
    }

    /// <summary>The query's question (or none when it is unreadable) and <paramref name="count"/> A records of <paramref name="address"/>.</summary>
    public static byte[] Answer(ReadOnlySpan<byte> query, IPAddress address, int count = 1, bool truncated = false, bool authoritative = false)
    {
        int questionEnd = QuestionEnd(query);
        var bytes = new List<byte>(query[..questionEnd].ToArray());
        bytes[2] = (byte)(0x80 | (query[2] & 0x01) | (truncated ? 0x02 : 0) | (authoritative ? 0x04 : 0));
        bytes[3] = 0x80;
        bytes[6] = (byte)(count >> 8);
        bytes[7] = (byte)count;
        bytes[8] = bytes[9] = bytes[10] = bytes[11] = 0;
        for (int i = 0; i < count; i++)
        {
            bytes.AddRange([0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4]);
            bytes.AddRange(address.GetAddressBytes());
        }

        return [.. bytes];
    }

    public static int QuestionEnd(ReadOnlySpan<byte> message)
    {
        int position = 12;
        while (position < message.Length && message[position] != 0)
        {
            position += 1 + message[position];
        }

        return Math.Min(position + 5, message.Length);
    }

    public static string QuestionName(ReadOnlySpan<byte> message)
    {
        var labels = new List<string>();
        int position = 12;
        while (position < message.Length && message[position] != 0 && position + 1 + message[position] <= message.Length)
        {
            labels.Add(Encoding.ASCII.GetString(message.Slice(position + 1, message[position])));
            position += 1 + message[position];
        }

        return string.Join('.', labels).ToLowerInvariant();
    }

    public static ushort Id(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadUInt16BigEndian(message);

    public static DnsResponseCode Code(ReadOnlySpan<byte> message) => (DnsResponseCode)(message[3] & 0x0F);

    public static bool IsTruncated(ReadOnlySpan<byte> message) => (message[2] & 0x02) != 0;

    public static int AnswerCount(ReadOnlySpan<byte> message) => BinaryPrimitives.ReadUInt16BigEndian(message[6..]);

    /// <summary>The address of the first answer, written as <see cref="Answer"/> writes it.</summary>
    public static IPAddress FirstAddress(ReadOnlySpan<byte> message) => new(message.Slice(QuestionEnd(message) + 12, 4));
}

/// <summary>
/// The cluster zone's stand-in: names under <c>cluster.test</c> get A 192.0.2.10 (<c>many.cluster.test</c>: 200 of them,
/// cut and marked truncated to the size allowed), <c>throw.cluster.test</c> throws, anything else is forwarded, and what
/// is not a query is dropped.
/// </summary>
internal sealed class TestAnswerer : IDnsAnswerer
{
    public static readonly IPAddress ZoneAddress = IPAddress.Parse("192.0.2.10");

    public int Calls;

    public DnsDisposition Answer(ReadOnlySpan<byte> query, Span<byte> response, bool overTcp, out int written)
    {
        Interlocked.Increment(ref Calls);
        written = 0;
        if (query.Length < 12 || (query[2] & 0x80) != 0)
        {
            return DnsDisposition.Drop;
        }

        string name = TestMessages.QuestionName(query);
        if (name == "throw.cluster.test")
        {
            throw new InvalidOperationException("the test answerer throws for this name");
        }

        if (!name.EndsWith("cluster.test", StringComparison.Ordinal))
        {
            return DnsDisposition.Forward;
        }

        int count = name == "many.cluster.test" ? 200 : 1;
        byte[] answer = TestMessages.Answer(query, ZoneAddress, count, authoritative: true);
        if (answer.Length > response.Length)
        {
            answer = TestMessages.Answer(query, ZoneAddress, 0, truncated: true, authoritative: true);
        }

        answer.CopyTo(response);
        written = answer.Length;
        return DnsDisposition.Answered;
    }
}

/// <summary>How a <see cref="FakeUpstream"/> behaves.</summary>
internal enum UpstreamBehaviour
{
    /// <summary>Answers every question with one A record of its address.</summary>
    Answers,

    /// <summary>Reads queries and never answers.</summary>
    Silent,

    /// <summary>Over UDP an empty truncated answer; over TCP 200 A records.</summary>
    TruncatesOverUdp,

    /// <summary>First a reply with another ID, then one with another question, then the right one.</summary>
    SendsMismatchedRepliesFirst,
}

/// <summary>An upstream resolver on 127.0.0.1 (UDP and TCP on one port) that records the queries it gets.</summary>
internal sealed class FakeUpstream : IDisposable
{
    private readonly Socket _udp;
    private readonly Socket _tcp;
    private readonly CancellationTokenSource _stop = new();

    public FakeUpstream(UpstreamBehaviour behaviour, IPAddress? answer = null)
    {
        Behaviour = behaviour;
        Address = answer ?? IPAddress.Parse("203.0.113.1");
        _tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _tcp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _tcp.Listen(16);
        EndPoint = (IPEndPoint)_tcp.LocalEndPoint!;
        _udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _udp.Bind(EndPoint);
        _ = ServeUdpAsync();
        _ = ServeTcpAsync();
    }

    public UpstreamBehaviour Behaviour { get; }

    public IPAddress Address { get; }

    public IPEndPoint EndPoint { get; }

    public ConcurrentQueue<byte[]> UdpQueries { get; } = new();

    public ConcurrentQueue<byte[]> TcpQueries { get; } = new();

    public SemaphoreSlim Received { get; } = new(0);

    public void Dispose()
    {
        _stop.Cancel();
        _udp.Dispose();
        _tcp.Dispose();
        _stop.Dispose();
    }

    private async Task ServeUdpAsync()
    {
        byte[] buffer = new byte[65536];
        try
        {
            while (true)
            {
                SocketReceiveFromResult result = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                byte[] query = buffer[..result.ReceivedBytes];
                UdpQueries.Enqueue(query);
                Received.Release();
                List<byte[]> replies;
                try
                {
                    replies = [.. UdpReplies(query)];
                }
                catch (ArgumentException)
                {
                    continue; // a query too broken to echo
                }

                foreach (byte[] reply in replies)
                {
                    await _udp.SendToAsync(reply, SocketFlags.None, result.RemoteEndPoint, _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private IEnumerable<byte[]> UdpReplies(byte[] query)
    {
        switch (Behaviour)
        {
            case UpstreamBehaviour.Silent:
                yield break;
            case UpstreamBehaviour.TruncatesOverUdp:
                yield return TestMessages.Answer(query, Address, 0, truncated: true);
                yield break;
            case UpstreamBehaviour.SendsMismatchedRepliesFirst:
                byte[] otherId = TestMessages.Answer(query, IPAddress.Parse("198.51.100.66"));
                otherId[0] ^= 0x55;
                yield return otherId;
                byte[] otherQuestion = TestMessages.Answer(TestMessages.Query(TestMessages.Id(query), "other.example.test"), IPAddress.Parse("198.51.100.67"));
                yield return otherQuestion;
                yield return TestMessages.Answer(query, Address);
                yield break;
            default:
                yield return TestMessages.Answer(query, Address);
                yield break;
        }
    }

    private async Task ServeTcpAsync()
    {
        try
        {
            while (true)
            {
                Socket connection = await _tcp.AcceptAsync(_stop.Token);
                _ = ServeConnectionAsync(connection);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    private async Task ServeConnectionAsync(Socket connection)
    {
        using (connection)
        {
            try
            {
                while (true)
                {
                    byte[] query = await TestTcp.ReadMessageAsync(connection, _stop.Token);
                    TcpQueries.Enqueue(query);
                    Received.Release();
                    if (Behaviour == UpstreamBehaviour.Silent)
                    {
                        continue;
                    }

                    int count = Behaviour == UpstreamBehaviour.TruncatesOverUdp ? 200 : 1;
                    await TestTcp.WriteMessageAsync(connection, TestMessages.Answer(query, Address, count), _stop.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or IOException)
            {
            }
        }
    }
}

/// <summary>DNS over TCP for the tests: a 2-byte length, then the message.</summary>
internal static class TestTcp
{
    public static async Task WriteMessageAsync(Socket socket, byte[] message, CancellationToken ct)
    {
        byte[] framed = new byte[message.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)message.Length);
        message.CopyTo(framed, 2);
        await socket.SendAsync(framed, SocketFlags.None, ct);
    }

    public static async Task<byte[]> ReadMessageAsync(Socket socket, CancellationToken ct)
    {
        byte[] prefix = new byte[2];
        await ReadExactlyAsync(socket, prefix, ct);
        byte[] message = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
        await ReadExactlyAsync(socket, message, ct);
        return message;
    }

    private static async Task ReadExactlyAsync(Socket socket, Memory<byte> into, CancellationToken ct)
    {
        int filled = 0;
        while (filled < into.Length)
        {
            int received = await socket.ReceiveAsync(into[filled..], SocketFlags.None, ct);
            if (received == 0)
            {
                throw new IOException("closed");
            }

            filled += received;
        }
    }
}

/// <summary>Keeps what was logged, to show it when a test fails.</summary>
internal sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue($"{logLevel} {eventId.Id} {formatter(state, exception)}");

    public override string ToString() => string.Join('\n', Lines);
}
