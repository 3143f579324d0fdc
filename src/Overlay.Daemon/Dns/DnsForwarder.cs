using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Overlay.Core.Dns;

namespace Overlay.Daemon.Dns;

/// <summary>How long the forwarder waits and how much it carries at once.</summary>
public sealed record DnsForwarderLimits
{
    /// <summary>How long one upstream gets to answer (UDP, and again for the TCP retry) before the next is asked.</summary>
    public TimeSpan UpstreamTimeout { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Forwards in flight at once; a query beyond it gets SERVFAIL at once (the client moves on, nothing queues).</summary>
    public int MaxInFlight { get; init; } = 1024;
}

/// <summary>
/// Sends the queries the cluster zone does not own to the node's upstream resolvers and returns their replies. Each
/// forward gets a fresh UDP socket connected to the upstream (a kernel-chosen source port, and the kernel drops datagrams
/// from anyone else) and an ID of ours, random and unique among the forwards in flight; the client's bytes are otherwise
/// sent unchanged, its EDNS OPT too, so the upstream keeps to the client's size. A reply counts only if it carries our ID
/// and the query's question; it goes back with the client's ID. A truncated reply is asked again over TCP of the same
/// upstream when the client came over TCP; a UDP client gets it truncated and retries over TCP itself. An upstream that
/// fails or stays silent for <see cref="DnsForwarderLimits.UpstreamTimeout"/> is skipped for the next; the last one that
/// answered is asked first. When all fail, or too many forwards are in flight, the client gets SERVFAIL.
/// Safe to call from many threads at once.
/// </summary>
public sealed class DnsForwarder
{
    /// <summary>The largest DNS message (RFC 1035 over TCP: a 16-bit length).</summary>
    public const int MaxMessageSize = 65535;

    /// <summary>A DNS header's length: anything shorter is not a message.</summary>
    public const int HeaderLength = 12;

    private readonly IPEndPoint[] _upstreams;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DnsForwarderLimits _limits;
    private readonly ConcurrentDictionary<ushort, byte> _idsInFlight = new();
    private int _preferred;
    private int _inFlight;
    private int _fullLogged;

    public DnsForwarder(IReadOnlyList<IPEndPoint> upstreams, ILogger logger, TimeProvider time, DnsForwarderLimits? limits = null)
    {
        _upstreams = [.. upstreams];
        _logger = logger;
        _time = time;
        _limits = limits ?? new DnsForwarderLimits();
    }

    /// <summary>
    /// The forwarder for a node: <paramref name="flagUpstreams"/> (<c>--dns-upstream</c>) when given, else the nameservers
    /// of <paramref name="resolvConfPath"/>; less the loops back to this server (each logged). None left: a warning, and
    /// every forward gets SERVFAIL.
    /// </summary>
    public static DnsForwarder ForNode(
        IReadOnlyList<IPEndPoint>? flagUpstreams,
        string resolvConfPath,
        IPEndPoint listen,
        IPAddress? clusterDns,
        ILogger logger,
        TimeProvider time,
        DnsForwarderLimits? limits = null)
    {
        string source;
        IReadOnlyList<IPEndPoint> candidates;
        if (flagUpstreams is { Count: > 0 })
        {
            source = "--dns-upstream";
            candidates = flagUpstreams;
        }
        else
        {
            source = resolvConfPath;
            try
            {
                candidates = UpstreamResolvers.FromResolvConf(File.ReadAllText(resolvConfPath));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                DnsLog.ResolvConfUnreadable(logger, resolvConfPath, e.Message);
                candidates = [];
            }
        }

        UpstreamSelection selection = UpstreamResolvers.Select(candidates, listen, clusterDns);
        foreach (DroppedUpstream dropped in selection.Dropped)
        {
            DnsLog.UpstreamDropped(logger, dropped.Upstream, dropped.Reason);
        }

        if (selection.Upstreams.Count == 0)
        {
            DnsLog.NoUpstreams(logger, source);
        }
        else
        {
            DnsLog.Upstreams(logger, selection.Upstreams, source);
        }

        return new DnsForwarder(selection.Upstreams, logger, time, limits);
    }

    public IReadOnlyList<IPEndPoint> Upstreams => _upstreams;

    /// <summary>Forwards in flight now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>
    /// Forwards <paramref name="query"/> (a well-formed query, as the answerer judged it) and writes what the client gets
    /// into <paramref name="response"/>: the upstream's reply with the client's ID, or SERVFAIL. Returns its length, 0 only
    /// when the query has no complete header. For a TCP client <paramref name="response"/> should hold
    /// <see cref="MaxMessageSize"/> bytes (a larger TCP reply is a failure of that upstream); for a UDP client, the most it
    /// sends over UDP: a UDP reply that fills it goes back as an empty truncated answer (TC), so the client asks over TCP.
    /// </summary>
    public async ValueTask<int> ForwardAsync(ReadOnlyMemory<byte> query, Memory<byte> response, bool overTcp, CancellationToken ct)
    {
        if (query.Length < HeaderLength)
        {
            return 0;
        }

        if (_upstreams.Length == 0)
        {
            return ServerFailure(query.Span, response.Span, overTcp);
        }

        if (Interlocked.Increment(ref _inFlight) > _limits.MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            if (Interlocked.Exchange(ref _fullLogged, 1) == 0)
            {
                DnsLog.ForwardsFull(_logger, _limits.MaxInFlight);
            }

            return ServerFailure(query.Span, response.Span, overTcp);
        }

        ushort id = TakeId();
        byte[] ours = ArrayPool<byte>.Shared.Rent(query.Length);
        try
        {
            query.CopyTo(ours);
            DnsPacket.WriteId(ours, id);
            ReadOnlyMemory<byte> outgoing = ours.AsMemory(0, query.Length);

            int first = Volatile.Read(ref _preferred);
            for (int i = 0; i < _upstreams.Length; i++)
            {
                int index = (first + i) % _upstreams.Length;
                IPEndPoint upstream = _upstreams[index];
                int length = await AskAsync(upstream, outgoing, response, overTcp, ct);
                if (length > 0)
                {
                    if (index != first && Interlocked.CompareExchange(ref _preferred, index, first) == first)
                    {
                        DnsLog.UpstreamPreferred(_logger, upstream);
                    }

                    DnsPacket.WriteId(response.Span, DnsPacket.ReadId(query.Span));
                    return length;
                }
            }

            DnsLog.AllUpstreamsFailed(_logger, _upstreams.Length);
            return ServerFailure(query.Span, response.Span, overTcp);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(ours);
            _idsInFlight.TryRemove(id, out _);
            if (Interlocked.Decrement(ref _inFlight) < _limits.MaxInFlight / 2)
            {
                Volatile.Write(ref _fullLogged, 0);
            }
        }
    }

    private ushort TakeId()
    {
        while (true)
        {
            var id = (ushort)RandomNumberGenerator.GetInt32(0, 65536);
            if (_idsInFlight.TryAdd(id, 0))
            {
                return id;
            }
        }
    }

    /// <summary>One upstream: UDP, then TCP when truncated and the client came over TCP. 0: it failed; the next is asked.</summary>
    private async ValueTask<int> AskAsync(IPEndPoint upstream, ReadOnlyMemory<byte> query, Memory<byte> response, bool overTcp, CancellationToken ct)
    {
        int length;
        try
        {
            length = await AskOverUdpAsync(upstream, query, response, ct);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            DnsLog.UpstreamFailed(_logger, upstream, "UDP", e is OperationCanceledException ? "no answer in time" : e.Message);
            return 0;
        }

        if (!overTcp || !DnsPacket.IsTruncated(response.Span[..length]))
        {
            return length;
        }

        try
        {
            return await AskOverTcpAsync(upstream, query, response, ct);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !ct.IsCancellationRequested)
        {
            DnsLog.UpstreamFailed(_logger, upstream, "TCP", e is OperationCanceledException ? "no answer in time" : e.Message);
            return 0;
        }
    }

    private async ValueTask<int> AskOverUdpAsync(IPEndPoint upstream, ReadOnlyMemory<byte> query, Memory<byte> response, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(_limits.UpstreamTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        using var socket = new Socket(upstream.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(upstream, linked.Token);
        await socket.SendAsync(query, SocketFlags.None, linked.Token);
        while (true)
        {
            int received = await socket.ReceiveAsync(response, SocketFlags.None, linked.Token);
            if (received < response.Length && IsReplyTo(query.Span, response.Span[..received]))
            {
                return received;
            }

            // It filled the buffer, so the kernel may have cut it: the client gets it truncated and asks again over TCP.
            if (received == response.Length && IsReplyTo(query.Span, response.Span[..received]))
            {
                return DnsPacket.TryWriteResponse(query.Span, DnsResponseCode.NoError, response.Span, overTcp: false, out int written, truncated: true) ? written : 0;
            }

            DnsLog.MismatchedReply(_logger, upstream);
        }
    }

    private async ValueTask<int> AskOverTcpAsync(IPEndPoint upstream, ReadOnlyMemory<byte> query, Memory<byte> response, CancellationToken ct)
    {
        using var timeout = new CancellationTokenSource(_limits.UpstreamTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        using var socket = new Socket(upstream.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(upstream, linked.Token);
        byte[] framed = ArrayPool<byte>.Shared.Rent(query.Length + 2);
        try
        {
            BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)query.Length);
            query.CopyTo(framed.AsMemory(2));
            await socket.SendAsync(framed.AsMemory(0, query.Length + 2), SocketFlags.None, linked.Token);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(framed);
        }

        byte[] prefix = new byte[2];
        while (true)
        {
            await ReceiveExactlyAsync(socket, prefix, linked.Token);
            int length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
            if (length > response.Length)
            {
                throw new IOException($"the upstream's reply of {length} bytes is larger than the buffer");
            }

            await ReceiveExactlyAsync(socket, response[..length], linked.Token);
            if (IsReplyTo(query.Span, response.Span[..length]))
            {
                return length;
            }

            DnsLog.MismatchedReply(_logger, upstream);
        }
    }

    /// <summary>SERVFAIL with the client's question (and an OPT when it sent one); 0 when the query cannot have an answer.</summary>
    private static int ServerFailure(ReadOnlySpan<byte> query, Span<byte> response, bool overTcp) =>
        DnsPacket.TryWriteResponse(query, DnsResponseCode.ServerFailure, response, overTcp, out int written) ? written : 0;

    private static bool IsReplyTo(ReadOnlySpan<byte> query, ReadOnlySpan<byte> reply) =>
        reply.Length >= HeaderLength
        && DnsPacket.ReadId(reply) == DnsPacket.ReadId(query)
        && DnsPacket.QuestionMatches(query, reply);

    internal static async ValueTask ReceiveExactlyAsync(Socket socket, Memory<byte> into, CancellationToken ct)
    {
        int filled = 0;
        while (filled < into.Length)
        {
            int received = await socket.ReceiveAsync(into[filled..], SocketFlags.None, ct);
            if (received == 0)
            {
                throw new IOException("the connection was closed");
            }

            filled += received;
        }
    }
}
