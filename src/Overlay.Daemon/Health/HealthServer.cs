using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Overlay.Daemon.Hosting;
using Overlay.Daemon.Options;

namespace Overlay.Daemon.Health;

/// <summary>
/// /healthz (200 while running), /readyz (200 once ready) and /metrics on --healthz-ip:--healthz-port.
/// A deliberately small HTTP/1.1 responder: three GET paths, one response per connection, no framework to
/// weigh on the daemon's memory or its NativeAOT build.
/// </summary>
public sealed partial class HealthServer : BackgroundService
{
    private readonly DaemonOptions _options;
    private readonly DaemonStatus _status;
    private readonly ILogger<HealthServer> _logger;

    public HealthServer(DaemonOptions options, DaemonStatus status, ILogger<HealthServer> logger)
    {
        _options = options;
        _status = status;
        _logger = logger;
    }

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
                TcpClient client = await listener.AcceptTcpClientAsync(stoppingToken);
                _ = Task.Run(() => ServeAsync(client, stoppingToken), stoppingToken);
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

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                NetworkStream stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                string? requestLine = await reader.ReadLineAsync(timeout.Token);
                while (!string.IsNullOrEmpty(await reader.ReadLineAsync(timeout.Token)))
                {
                    // Headers are not needed.
                }

                (int code, string body, string type) = Respond(requestLine);
                byte[] payload = Encoding.UTF8.GetBytes(body);
                string head = $"HTTP/1.1 {code} {(code == 200 ? "OK" : code == 404 ? "Not Found" : code == 405 ? "Method Not Allowed" : "Service Unavailable")}\r\nContent-Type: {type}\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), timeout.Token);
                await stream.WriteAsync(payload, timeout.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException)
            {
                // A client that went away or was too slow.
            }
        }
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
            "/metrics" => (200, _status.RenderMetrics(), "text/plain; version=0.0.4; charset=utf-8"),
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
            return (503, "not ready: waiting for the network config, a lease, the device or the subnet file\n", "text/plain; charset=utf-8");
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
}
