using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Overlay.Core.Dns;
using Overlay.Daemon.Hosting.Loop;

namespace Overlay.Daemon.Dns;

/// <summary>
/// This node's DNS listener for as long as overlayd runs: a <see cref="DnsServer"/> on port 53 of the node's VXLAN device
/// address (the first address of its subnet, where the service table's <c>cluster-dns</c> map sends the DNS address's
/// queries), answering from the cluster zone and forwarding the rest. As a trigger source it owns the server's life;
/// as a component it follows the node's lease: when the subnet moves, the server moves to the new address. A bind that
/// fails (the port taken, no CAP_NET_BIND_SERVICE) is logged and tried again.
/// </summary>
public sealed partial class ClusterDnsListener : INodeComponent, ITriggerSource
{
    /// <summary>How long a failed bind waits before the next try.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    private readonly IDnsAnswerer _answerer;
    private readonly Func<IPAddress> _listenAddress;
    private readonly int _port;
    private readonly Func<IPEndPoint, DnsForwarder> _forwarder;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private TaskCompletionSource _moved = NewSignal();
    private IPAddress? _serving;

    /// <param name="listenAddress">Where to listen now: the node's VXLAN device address, read at each (re)start.</param>
    /// <param name="forwarder">The forwarder for a listen endpoint (which it must never forward to).</param>
    public ClusterDnsListener(IDnsAnswerer answerer, Func<IPAddress> listenAddress, Func<IPEndPoint, DnsForwarder> forwarder, ILogger logger, TimeProvider time, int port = 53)
    {
        _answerer = answerer;
        _listenAddress = listenAddress;
        _forwarder = forwarder;
        _logger = logger;
        _time = time;
        _port = port;
    }

    public string Name => "dns";

    public Triggers Wants => Triggers.OwnLease;

    /// <summary>The address served now; null while no server is bound.</summary>
    public IPAddress? Serving => Volatile.Read(ref _serving);

    public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
    {
        if (Serving is { } serving && !serving.Equals(_listenAddress()))
        {
            Volatile.Read(ref _moved).TrySetResult();
        }

        return ValueTask.CompletedTask;
    }

    public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var listen = new IPEndPoint(_listenAddress(), _port);
            var server = new DnsServer(listen, _answerer, _forwarder(listen), _logger, _time);
            try
            {
                server.Start();
            }
            catch (SocketException e)
            {
                await server.DisposeAsync();
                LogBindFailed(_logger, listen, e.Message);
                await Task.Delay(RetryDelay, _time, ct).ConfigureAwait(false);
                continue;
            }

            Volatile.Write(ref _serving, listen.Address);
            try
            {
                // Until the lease moves (a pass saw another address) or overlayd stops. A signal from before this
                // start is stale; a move that came before Serving was set is seen by the address check.
                TaskCompletionSource moved = NewSignal();
                Volatile.Write(ref _moved, moved);
                if (listen.Address.Equals(_listenAddress()))
                {
                    await moved.Task.WaitAsync(ct).ConfigureAwait(false);
                }

                LogMoving(_logger, listen.Address, _listenAddress());
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
            finally
            {
                Volatile.Write(ref _serving, null);
                await server.DisposeAsync();
            }
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(1420, LogLevel.Error, "DNS: cannot listen on {EndPoint}: {Error}; trying again in 5 s (port 53 needs CAP_NET_BIND_SERVICE and no other server on that address)")]
    private static partial void LogBindFailed(ILogger logger, IPEndPoint endPoint, string error);

    [LoggerMessage(1421, LogLevel.Information, "DNS: the node's subnet moved: listening on {Now} instead of {Was}")]
    private static partial void LogMoving(ILogger logger, IPAddress was, IPAddress now);
}
