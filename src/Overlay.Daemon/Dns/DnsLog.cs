using System.Net;
using Microsoft.Extensions.Logging;

namespace Overlay.Daemon.Dns;

/// <summary>The DNS server's and forwarder's log messages (event ids 1401–1420; 1401–1417 used).</summary>
internal static partial class DnsLog
{
    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "DNS: serving on {EndPoint} (UDP and TCP)")]
    public static partial void Serving(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "DNS: stopped serving on {EndPoint}")]
    public static partial void Stopped(ILogger logger, IPEndPoint endPoint);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Debug, Message = "DNS: UDP receive on {EndPoint} failed ({Error}); receiving again")]
    public static partial void UdpReceiveFailed(ILogger logger, IPEndPoint endPoint, System.Net.Sockets.SocketError error);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "DNS: the answerer failed on a query from {Client} ({Error}); the query is dropped")]
    public static partial void AnswererFailed(ILogger logger, object? client, string error);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Debug, Message = "DNS: TCP connection from {Client} closed: {Reason}")]
    public static partial void TcpClosed(ILogger logger, EndPoint? client, string reason);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning, Message = "DNS: {Count} TCP connections are open (the most allowed); refusing new ones until some close")]
    public static partial void TcpFull(ILogger logger, int count);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Information, Message = "DNS: upstream {Upstream} left out: {Reason}")]
    public static partial void UpstreamDropped(ILogger logger, IPEndPoint upstream, string reason);

    [LoggerMessage(EventId = 1408, Level = LogLevel.Warning, Message = "DNS: no upstream resolvers ({Source}); names outside the cluster zone get SERVFAIL")]
    public static partial void NoUpstreams(ILogger logger, string source);

    [LoggerMessage(EventId = 1409, Level = LogLevel.Information, Message = "DNS: forwarding names outside the cluster zone to {Upstreams} ({Source})")]
    public static partial void Upstreams(ILogger logger, IReadOnlyList<IPEndPoint> upstreams, string source);

    [LoggerMessage(EventId = 1410, Level = LogLevel.Debug, Message = "DNS: upstream {Upstream} failed over {Transport} ({Error}); trying the next")]
    public static partial void UpstreamFailed(ILogger logger, IPEndPoint upstream, string transport, string error);

    [LoggerMessage(EventId = 1411, Level = LogLevel.Information, Message = "DNS: upstream {Upstream} answers again; trying it first from now on")]
    public static partial void UpstreamPreferred(ILogger logger, IPEndPoint upstream);

    [LoggerMessage(EventId = 1412, Level = LogLevel.Warning, Message = "DNS: every upstream failed for a query; SERVFAIL to the client ({Count} upstreams tried)")]
    public static partial void AllUpstreamsFailed(ILogger logger, int count);

    [LoggerMessage(EventId = 1413, Level = LogLevel.Warning, Message = "DNS: {Count} forwards in flight (the most allowed); SERVFAIL to new ones until some finish")]
    public static partial void ForwardsFull(ILogger logger, int count);

    [LoggerMessage(EventId = 1414, Level = LogLevel.Debug, Message = "DNS: ignored a reply from {Upstream} that does not match the query (ID or question)")]
    public static partial void MismatchedReply(ILogger logger, IPEndPoint upstream);

    [LoggerMessage(EventId = 1415, Level = LogLevel.Warning, Message = "DNS: cannot read {Path} for upstream resolvers ({Error})")]
    public static partial void ResolvConfUnreadable(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 1416, Level = LogLevel.Error, Message = "DNS: the {Transport} loop failed: {Error}")]
    public static partial void LoopFailed(ILogger logger, string transport, string error);

    [LoggerMessage(EventId = 1417, Level = LogLevel.Warning, Message = "DNS: forwarding a query from {Client} failed: {Error}")]
    public static partial void ForwardFailed(ILogger logger, object? client, string error);
}
