using System.Net.Sockets;
using Grpc.Core;
using Polly.Timeout;

namespace Overlay.Leases.Etcd;

/// <summary>Which failures of an etcd call are worth retrying: etcd or the network is down, slow or restarting.</summary>
public static class EtcdErrors
{
    public static bool IsTransient(Exception exception, CancellationToken callerToken = default)
    {
        if (callerToken.IsCancellationRequested)
        {
            return false;
        }

        return exception switch
        {
            // An answer from etcd, not a failure to reach it.
            LeaseException => false,
            RpcException rpc => rpc.StatusCode switch
            {
                StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Aborted or StatusCode.ResourceExhausted => true,
                // etcd forgets its simple tokens when it restarts; the client fetches a new one on the next call.
                StatusCode.Unauthenticated => rpc.Status.Detail.Contains("invalid auth token", StringComparison.OrdinalIgnoreCase),
                StatusCode.Internal or StatusCode.Unknown or StatusCode.Cancelled => HasIOCause(rpc),
                _ => false,
            },
            TimeoutRejectedException => true,
            IOException or HttpRequestException or SocketException => true,
            // A call cancelled by something other than the caller (e.g. a connection torn down under it).
            OperationCanceledException => true,
            _ => false,
        };
    }

    /// <summary>One line: the gRPC status and detail, or the exception's type and message.</summary>
    public static string Describe(Exception? exception) => exception switch
    {
        null => "no error",
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        TimeoutRejectedException timeout => $"timed out after {timeout.Timeout.TotalSeconds:0.#} s",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };

    private static bool HasIOCause(RpcException rpc)
    {
        for (Exception? inner = rpc.Status.DebugException ?? rpc.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is IOException or HttpRequestException or SocketException)
            {
                return true;
            }
        }

        return rpc.StatusCode == StatusCode.Cancelled
            || rpc.Status.Detail.Contains("Error starting gRPC call", StringComparison.Ordinal)
            || rpc.Status.Detail.Contains("Error reading next message", StringComparison.Ordinal);
    }
}
