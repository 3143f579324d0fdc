using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Overlay.Core.Dns;

namespace Overlay.Daemon.Dns;

/// <summary>What the DNS server holds at most, and how long it waits for a TCP client.</summary>
public sealed record DnsServerLimits
{
    /// <summary>UDP receive loops on the one socket; each owns its buffers.</summary>
    public int UdpReceiveLoops { get; init; } = Math.Clamp(Environment.ProcessorCount, 2, 4);

    /// <summary>
    /// The most the server sends over UDP, answered or forwarded: the DNS flag day 2020 size, which needs no IP
    /// fragmentation on any usual path (a VXLAN MTU of 1450 included). The answerer cuts its answers to the client's
    /// EDNS size within it; a forwarded reply larger than it goes back empty with TC set.
    /// </summary>
    public int MaxUdpResponse { get; init; } = 1232;

    /// <summary>The largest query taken (UDP or TCP); a larger one is dropped, and its TCP connection closed.</summary>
    public int MaxQuerySize { get; init; } = 4096;

    /// <summary>TCP connections open at once; one more is accepted and closed at once.</summary>
    public int MaxTcpConnections { get; init; } = 256;

    /// <summary>How long a TCP connection may take to send its next whole query (RFC 7766 6.2.3).</summary>
    public TimeSpan TcpIdleTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Serves DNS on one address and port, UDP and TCP, with the cluster zone's answerer; what the answerer leaves to
/// upstream goes to the forwarder. The sockets are bound with IP_FREEBIND, so the node's VXLAN address need not exist
/// yet, and SO_REUSEADDR. UDP: a few receive loops on one socket, answers sent from it. TCP (RFC 7766): 2-byte length
/// framing, any number of queries per connection answered in order, an idle timeout, a cap on open connections. Nothing
/// a client sends is trusted: oversized or broken queries are dropped, and an answerer that throws costs one query.
/// To serve another address (the node's lease moved), dispose this server and start a new one.
/// </summary>
public sealed class DnsServer : IAsyncDisposable
{
    private const int SolIp = 0;
    private const int IpFreebind = 15;
    private const int SolIpv6 = 41;
    private const int Ipv6Freebind = 78;
    private const int SolSocket = 1;
    private const int SoReuseaddr = 2;

    /// <summary>The TCP response buffer: the 2-byte length, then the message.</summary>
    private const int TcpBufferSize = 65536;

    private readonly IPEndPoint _listen;
    private readonly IDnsAnswerer _answerer;
    private readonly DnsForwarder _forwarder;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DnsServerLimits _limits;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _running = new();
    private readonly List<Task> _loops = [];
    private Socket? _udp;
    private Socket? _tcp;
    private int _tcpOpen;
    private int _tcpFullLogged;
    private int _stopped;

    public DnsServer(IPEndPoint listen, IDnsAnswerer answerer, DnsForwarder forwarder, ILogger logger, TimeProvider time, DnsServerLimits? limits = null)
    {
        _listen = listen;
        _answerer = answerer;
        _forwarder = forwarder;
        _logger = logger;
        _time = time;
        _limits = limits ?? new DnsServerLimits();
    }

    /// <summary>The address and port served: the listen address, with the port the kernel chose when it was 0.</summary>
    public IPEndPoint LocalEndPoint { get; private set; } = new(IPAddress.None, 0);

    /// <summary>TCP connections open now.</summary>
    public int OpenTcpConnections => Volatile.Read(ref _tcpOpen);

    /// <summary>
    /// Binds UDP and TCP (port 0: one free port for both) and starts serving. Throws <see cref="SocketException"/> when
    /// the port is taken or binding is not permitted (port 53 needs CAP_NET_BIND_SERVICE).
    /// </summary>
    public void Start()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _stopped) != 0, this);
        if (_udp is not null)
        {
            throw new InvalidOperationException("the DNS server is already started");
        }

        for (int attempt = 0; ; attempt++)
        {
            Socket tcp = Bind(SocketType.Stream, ProtocolType.Tcp, _listen);
            var port = ((IPEndPoint)tcp.LocalEndPoint!).Port;
            try
            {
                _udp = Bind(SocketType.Dgram, ProtocolType.Udp, new IPEndPoint(_listen.Address, port));
                _tcp = tcp;
                LocalEndPoint = new IPEndPoint(_listen.Address, port);
                break;
            }
            catch (SocketException e) when (_listen.Port == 0 && e.SocketErrorCode == SocketError.AddressAlreadyInUse && attempt < 10)
            {
                // The kernel's free TCP port is taken for UDP: pick another pair.
                tcp.Dispose();
            }
            catch
            {
                tcp.Dispose();
                throw;
            }
        }

        _tcp.Listen(512);

        // Room for a burst: the kernel clamps this to net.core.rmem_max.
        _udp.ReceiveBufferSize = UdpReceiveBuffer;
        _udp.ReceiveTimeout = (int)UdpWakeInterval.TotalMilliseconds;
        CancellationToken ct = _stopping.Token;
        for (int i = 0; i < _limits.UdpReceiveLoops; i++)
        {
            // A thread of its own per loop, blocking in recvfrom as a C server would: an answered query costs two system
            // calls and no hop through the thread pool, which is what keeps the latency tail short under load.
            _loops.Add(Task.Factory.StartNew(() => ReceiveUdp(ct), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        }

        _loops.Add(AcceptTcpAsync(ct));
        DnsLog.Serving(_logger, LocalEndPoint);
    }

    /// <summary>Stops serving: the loops and every connection and forward end, the sockets are closed. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();

        // Every loop, connection and forward logs its own failure; stopping waits for them and never throws.
        await Task.WhenAll(_loops).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await Task.WhenAll(_running.Keys).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _udp?.Dispose();
        _tcp?.Dispose();
        _stopping.Dispose();
        if (_udp is not null)
        {
            DnsLog.Stopped(_logger, LocalEndPoint);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private static Socket Bind(SocketType type, ProtocolType protocol, IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, type, protocol);
        try
        {
            Span<byte> on = stackalloc byte[sizeof(int)];
            BitConverter.TryWriteBytes(on, 1);

            // SO_REUSEADDR alone: .NET's ReuseAddress option adds SO_REUSEPORT, which would let a second server share the port.
            socket.SetRawSocketOption(SolSocket, SoReuseaddr, on);
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.SetRawSocketOption(SolIpv6, Ipv6Freebind, on);
            }
            else
            {
                socket.SetRawSocketOption(SolIp, IpFreebind, on);
            }

            socket.Bind(endPoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void Track(Task task)
    {
        if (task.IsCompleted)
        {
            return;
        }

        _running.TryAdd(task, 0);
        task.ContinueWith(static (done, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(done, out _), _running, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The UDP socket's receive buffer asked for (the kernel grants at most net.core.rmem_max).</summary>
    private const int UdpReceiveBuffer = 4 << 20;

    /// <summary>How often a blocked UDP loop wakes to see whether the server stops.</summary>
    private static readonly TimeSpan UdpWakeInterval = TimeSpan.FromMilliseconds(250);

    private void ReceiveUdp(CancellationToken ct)
    {
        Socket udp = _udp!;
        byte[] query = ArrayPool<byte>.Shared.Rent(_limits.MaxQuerySize + 1);
        byte[] response = ArrayPool<byte>.Shared.Rent(_limits.MaxUdpResponse);
        var client = new SocketAddress(udp.AddressFamily);
        try
        {
            while (!ct.IsCancellationRequested)
            {
                int received;
                try
                {
                    received = udp.ReceiveFrom(query.AsSpan(0, _limits.MaxQuerySize + 1), SocketFlags.None, client);
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock or SocketError.Interrupted)
                {
                    continue; // the wake-up to look at ct
                }
                catch (SocketException e)
                {
                    if (ct.IsCancellationRequested)
                    {
                        break;
                    }

                    DnsLog.UdpReceiveFailed(_logger, LocalEndPoint, e.SocketErrorCode);
                    continue;
                }
                catch (ObjectDisposedException) when (ct.IsCancellationRequested)
                {
                    break;
                }

                if (received > _limits.MaxQuerySize)
                {
                    continue;
                }

                int written;
                DnsDisposition disposition;
                try
                {
                    disposition = _answerer.Answer(query.AsSpan(0, received), response.AsSpan(0, _limits.MaxUdpResponse), overTcp: false, out written);
                }
                catch (Exception e)
                {
                    DnsLog.AnswererFailed(_logger, client, e.Message);
                    continue;
                }

                if (disposition == DnsDisposition.Answered && written > 0)
                {
                    try
                    {
                        udp.SendTo(response.AsSpan(0, written), SocketFlags.None, client);
                    }
                    catch (SocketException)
                    {
                        // The client is gone or unreachable, or the send buffer is full: it will ask again.
                    }
                }
                else if (disposition == DnsDisposition.Forward)
                {
                    Track(ForwardUdpAsync(query.AsSpan(0, received), client, ct));
                }
            }
        }
        catch (Exception e)
        {
            DnsLog.LoopFailed(_logger, "UDP", e.ToString());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(query);
            ArrayPool<byte>.Shared.Return(response);
        }
    }

    private Task ForwardUdpAsync(ReadOnlySpan<byte> query, SocketAddress client, CancellationToken ct)
    {
        byte[] copy = ArrayPool<byte>.Shared.Rent(query.Length);
        query.CopyTo(copy);
        var clientCopy = new SocketAddress(client.Family, client.Size);
        client.Buffer.CopyTo(clientCopy.Buffer);
        return ForwardAsync(copy, query.Length, clientCopy, ct);

        async Task ForwardAsync(byte[] query, int length, SocketAddress client, CancellationToken ct)
        {
            byte[] response = ArrayPool<byte>.Shared.Rent(_limits.MaxUdpResponse);
            try
            {
                int written = await _forwarder.ForwardAsync(query.AsMemory(0, length), response.AsMemory(0, _limits.MaxUdpResponse), overTcp: false, ct);
                if (written > 0)
                {
                    await _udp!.SendToAsync(response.AsMemory(0, written), SocketFlags.None, client, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            catch (SocketException)
            {
                // The client is gone or unreachable; it will ask again.
            }
            catch (Exception e)
            {
                DnsLog.ForwardFailed(_logger, client, e.ToString());
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(query);
                ArrayPool<byte>.Shared.Return(response);
            }
        }
    }

    private async Task AcceptTcpAsync(CancellationToken ct)
    {
        await Task.Yield();
        Socket listener = _tcp!;
        while (!ct.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await listener.AcceptAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException)
            {
                // Out of descriptors, or the client left before being accepted: wait a moment rather than spin.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _time, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                continue;
            }

            if (Interlocked.Increment(ref _tcpOpen) > _limits.MaxTcpConnections)
            {
                Interlocked.Decrement(ref _tcpOpen);
                connection.Dispose();
                if (Interlocked.Exchange(ref _tcpFullLogged, 1) == 0)
                {
                    DnsLog.TcpFull(_logger, _limits.MaxTcpConnections);
                }

                continue;
            }

            Track(ServeTcpAsync(connection, ct));
        }
    }

    private async Task ServeTcpAsync(Socket connection, CancellationToken ct)
    {
        string reason = "the client closed it";
        EndPoint? remote = connection.RemoteEndPoint;
        byte[] prefix = new byte[2];
        try
        {
            connection.NoDelay = true;
            while (true)
            {
                using var idle = new CancellationTokenSource(_limits.TcpIdleTimeout, _time);
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, idle.Token);
                if (await connection.ReceiveAsync(prefix.AsMemory(0, 1), SocketFlags.None, linked.Token) == 0)
                {
                    return;
                }

                await DnsForwarder.ReceiveExactlyAsync(connection, prefix.AsMemory(1, 1), linked.Token);
                int length = BinaryPrimitives.ReadUInt16BigEndian(prefix);
                if (length < DnsForwarder.HeaderLength || length > _limits.MaxQuerySize)
                {
                    reason = $"a query of {length} bytes (the most taken: {_limits.MaxQuerySize})";
                    return;
                }

                if (!await AnswerOverTcpAsync(connection, length, linked.Token))
                {
                    reason = "a query that cannot be answered";
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            reason = ct.IsCancellationRequested ? "the server stopped" : "idle for too long";
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            reason = e.Message;
        }
        catch (Exception e)
        {
            reason = e.ToString();
            DnsLog.LoopFailed(_logger, "TCP connection", reason);
        }
        finally
        {
            connection.Dispose();
            if (Interlocked.Decrement(ref _tcpOpen) < _limits.MaxTcpConnections / 2)
            {
                Volatile.Write(ref _tcpFullLogged, 0);
            }

            DnsLog.TcpClosed(_logger, remote, reason);
        }
    }

    /// <summary>Reads one query of <paramref name="length"/> bytes and sends its answer; false when it is to be dropped.</summary>
    private async Task<bool> AnswerOverTcpAsync(Socket connection, int length, CancellationToken ct)
    {
        byte[] query = ArrayPool<byte>.Shared.Rent(length);
        byte[] response = ArrayPool<byte>.Shared.Rent(TcpBufferSize);
        try
        {
            await DnsForwarder.ReceiveExactlyAsync(connection, query.AsMemory(0, length), ct);
            int written;
            DnsDisposition disposition;
            try
            {
                disposition = _answerer.Answer(query.AsSpan(0, length), response.AsSpan(2, TcpBufferSize - 2), overTcp: true, out written);
            }
            catch (Exception e)
            {
                DnsLog.AnswererFailed(_logger, connection.RemoteEndPoint, e.Message);
                return false;
            }

            if (disposition == DnsDisposition.Forward)
            {
                written = await _forwarder.ForwardAsync(query.AsMemory(0, length), response.AsMemory(2, TcpBufferSize - 2), overTcp: true, ct);
            }
            else if (disposition == DnsDisposition.Drop)
            {
                return false;
            }

            if (written <= 0)
            {
                return false;
            }

            BinaryPrimitives.WriteUInt16BigEndian(response, (ushort)written);
            await connection.SendAsync(response.AsMemory(0, written + 2), SocketFlags.None, ct);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(query);
            ArrayPool<byte>.Shared.Return(response);
        }
    }
}
