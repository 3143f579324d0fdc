using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Overlay.Daemon.Options;

namespace Overlay.Daemon.Health;

/// <summary>
/// /healthz (200 while running), /readyz (200 once ready) and /metrics on --healthz-ip:--healthz-port.
/// A deliberately small HTTP/1.1 responder: three GET paths, one response per connection, no framework to
/// weigh on the daemon's memory or its NativeAOT build. What a client can cost is bounded: at most
/// <see cref="MaxConnections"/> connections are served at once (one more is answered 503 at once and closed),
/// each has <see cref="ClientTimeout"/> for its request and the answer, and a request's head at most
/// <see cref="MaxRequestHeadBytes"/>.
/// </summary>
public sealed partial class HealthServer : BackgroundService
{
    /// <summary>Connections served at once: probes and a scraper or two need a handful.</summary>
    public const int MaxConnections = 16;

    /// <summary>Request line and headers longer than this are answered 431 and closed.</summary>
    public const int MaxRequestHeadBytes = 8 * 1024;

    /// <summary>How long a client has to send its request and take the answer; a slower or idle one is closed.</summary>
    public static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(5);

    /// <summary>How often at most a refusal is logged while connections are refused.</summary>
    private static readonly TimeSpan RefusalLogInterval = TimeSpan.FromMinutes(1);

    private static readonly byte[] TooManyConnections = Response(503, "Service Unavailable",
        $"too many connections to the health endpoint ({MaxConnections} at once); try again\n", "Retry-After: 1\r\n");

    private readonly DaemonOptions _options;
    private readonly DaemonStatus _status;
    private readonly ILogger<HealthServer> _logger;
    private readonly TimeProvider _time;
    private int _connections;
    private long _refusedSinceLog;
    private DateTimeOffset _lastRefusalLog = DateTimeOffset.MinValue;

    public HealthServer(DaemonOptions options, DaemonStatus status, ILogger<HealthServer> logger, TimeProvider? time = null)
    {
        _options = options;
        _status = status;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Connections being served now.</summary>
    internal int Connections => Volatile.Read(ref _connections);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.HealthzPort == 0)
        {
            return;
        }

        var listener = new TcpListener(IPAddress.Parse(_options.HealthzIP), _options.HealthzPort);
        try
        {
            listener.Start();
        }
        catch (SocketException e)
        {
            LogListenFailed(_logger, _options.HealthzIP, _options.HealthzPort, e.Message);
            return;
        }

        LogListening(_logger, _options.HealthzIP, _options.HealthzPort);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                Socket client = await listener.AcceptSocketAsync(stoppingToken);
                if (Volatile.Read(ref _connections) >= MaxConnections)
                {
                    Refuse(client);
                    continue;
                }

                // The client's time starts now, before the connection counts as served, so the count never shows a
                // connection whose clock has not started.
                var timeout = new CancellationTokenSource(ClientTimeout, _time);
                Interlocked.Increment(ref _connections);
                _ = Task.Run(() => ServeAsync(client, timeout, stoppingToken), CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>
    /// Answers 503 without waiting for the request (a full server should cost nothing more) and closes. What the client
    /// already sent is read first: closing a socket with unread data resets the connection, and a reset can make a
    /// client drop the answer.
    /// </summary>
    private void Refuse(Socket client)
    {
        using (client)
        {
            try
            {
                client.Send(TooManyConnections);
                client.Shutdown(SocketShutdown.Send);
                DiscardReceived(client);
            }
            catch (SocketException)
            {
                // The client is gone already.
            }
        }

        _refusedSinceLog++;
        DateTimeOffset now = _time.GetUtcNow();
        if (now - _lastRefusalLog >= RefusalLogInterval)
        {
            LogRefusing(_logger, MaxConnections, _refusedSinceLog);
            _lastRefusalLog = now;
            _refusedSinceLog = 0;
        }
    }

    /// <summary>Reads what the client already sent and nobody will read (a bounded amount), so closing does not reset the connection.</summary>
    private static void DiscardReceived(Socket client)
    {
        Span<byte> discard = stackalloc byte[512];
        for (int drained = 0; drained < MaxRequestHeadBytes && client.Available > 0;)
        {
            drained += client.Receive(discard);
        }
    }

    private async Task ServeAsync(Socket client, CancellationTokenSource clientTimeout, CancellationToken stoppingToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(clientTimeout.Token, stoppingToken);
            using var stream = new NetworkStream(client, ownsSocket: true);
            (string? requestLine, bool tooLarge) = await ReadRequestHeadAsync(stream, timeout.Token);
            byte[] response;
            if (tooLarge)
            {
                response = Response(431, "Request Header Fields Too Large", $"the request line and headers exceed {MaxRequestHeadBytes} bytes\n");
            }
            else
            {
                (int code, string body, string type) = Respond(requestLine);
                response = Response(code, code switch { 200 => "OK", 404 => "Not Found", 405 => "Method Not Allowed", _ => "Service Unavailable" }, body, contentType: type);
            }

            await stream.WriteAsync(response, timeout.Token);
            if (tooLarge)
            {
                client.Shutdown(SocketShutdown.Send);
                DiscardReceived(client);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
        {
            // A client that went away or was too slow.
        }
        finally
        {
            client.Dispose();
            clientTimeout.Dispose();
            Interlocked.Decrement(ref _connections);
        }
    }

    /// <summary>
    /// Reads up to the blank line that ends the headers, or until the client stops sending; returns the request line
    /// (null when nothing came), or that the head exceeds <see cref="MaxRequestHeadBytes"/>.
    /// </summary>
    internal static async Task<(string? RequestLine, bool TooLarge)> ReadRequestHeadAsync(Stream stream, CancellationToken ct)
    {
        byte[] head = new byte[MaxRequestHeadBytes];
        int length = 0;
        while (!EndsHead(head.AsSpan(0, length)))
        {
            if (length == head.Length)
            {
                return (null, true);
            }

            int read = await stream.ReadAsync(head.AsMemory(length), ct);
            if (read == 0)
            {
                break;
            }

            length += read;
        }

        if (length == 0)
        {
            return (null, false);
        }

        ReadOnlySpan<byte> received = head.AsSpan(0, length);
        int lineEnd = received.IndexOfAny((byte)'\r', (byte)'\n');
        return (Encoding.ASCII.GetString(lineEnd < 0 ? received : received[..lineEnd]), false);
    }

    private static bool EndsHead(ReadOnlySpan<byte> received) =>
        received.IndexOf("\n\r\n"u8) >= 0 || received.IndexOf("\n\n"u8) >= 0;

    private static byte[] Response(int code, string reason, string body, string extraHeaders = "", string contentType = "text/plain; charset=utf-8")
    {
        byte[] payload = Encoding.UTF8.GetBytes(body);
        string head = string.Create(CultureInfo.InvariantCulture,
            $"HTTP/1.1 {code} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {payload.Length}\r\n{extraHeaders}Connection: close\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(head), .. payload];
    }

    internal (int Code, string Body, string ContentType) Respond(string? requestLine)
    {
        string[] parts = (requestLine ?? "").Split(' ');
        if (parts.Length < 2 || parts[0] != "GET")
        {
            return (405, "only GET is served\n", "text/plain; charset=utf-8");
        }

        string path = parts[1].Split('?')[0];
        return path switch
        {
            "/healthz" => (200, "ok\n", "text/plain; charset=utf-8"),
            "/readyz" => Readiness(),
            "/metrics" => (200, _status.RenderMetrics(), PrometheusText.ContentType),
            _ => (404, "not found: try /healthz, /readyz or /metrics\n", "text/plain; charset=utf-8"),
        };
    }

    /// <summary>
    /// 503 until the first reconcile; after it, 503 again while etcd does not answer (the kernel keeps what etcd last
    /// said, but no change reaches this node), with since when and why.
    /// </summary>
    private (int Code, string Body, string ContentType) Readiness()
    {
        if (!_status.IsReady)
        {
            return (503, $"not ready: {_status.Activity ?? "waiting for the network config, a lease, the device or the subnet file"}\n", "text/plain; charset=utf-8");
        }

        if (_status.EtcdUnreachable is { } unreachable)
        {
            return (503, string.Create(CultureInfo.InvariantCulture, $"not ready: etcd is unreachable since {unreachable.Since:u} ({unreachable.Problem}); the data plane stays as etcd last described it\n"), "text/plain; charset=utf-8");
        }

        return (200, "ready\n", "text/plain; charset=utf-8");
    }

    [LoggerMessage(1018, LogLevel.Information, "health endpoint on http://{Address}:{Port}/ (/healthz, /readyz, /metrics)")]
    private static partial void LogListening(ILogger logger, string address, int port);

    [LoggerMessage(1019, LogLevel.Error, "health endpoint could not listen on {Address}:{Port}: {Error}")]
    private static partial void LogListenFailed(ILogger logger, string address, int port, string error);

    [LoggerMessage(1062, LogLevel.Warning, "health endpoint: all {Limit} connections are in use; {Refused} more answered 503 since this was last logged (once a minute at most)")]
    private static partial void LogRefusing(ILogger logger, int limit, long refused);
}
