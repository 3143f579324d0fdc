using System.Net.Sockets;
using System.Security.Authentication;
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

    /// <summary>One line: the TLS problem (<see cref="TlsProblem"/>), the gRPC status and detail, or the exception's type and message.</summary>
    public static string Describe(Exception? exception) => Describe(exception, overTls: false);

    /// <summary>
    /// <see cref="Describe(Exception?)"/> for a caller that knows whether its endpoints are TLS (<see cref="EtcdOptions.OverTls"/>),
    /// so the bare form of etcd's refusal of the client certificate is named as that (<see cref="TlsProblem(Exception?, bool)"/>).
    /// </summary>
    public static string Describe(Exception? exception, bool overTls) => exception switch
    {
        null => "no error",
        _ when TlsProblem(exception, overTls) is { } tls => tls,
        RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
        TimeoutRejectedException timeout => $"timed out after {timeout.Timeout.TotalSeconds:0.#} s",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };

    /// <summary>
    /// The TLS failure under an etcd call's error, as a sentence with its fix, or null when there is none: this side's
    /// refusal of etcd's certificate (<see cref="EtcdTlsException"/>), or etcd's refusal of the handshake (a TLS alert).
    /// </summary>
    public static string? TlsProblem(Exception? exception)
    {
        List<Exception> causes = Causes(exception).ToList();
        if (causes.OfType<EtcdTlsException>().FirstOrDefault() is { } ours)
        {
            return ours.Message;
        }

        // etcd's alert, as OpenSSL words it ("error:0A000412:SSL routines::sslv3 alert bad certificate"), under
        // whatever the handshake or the first read wrapped it in.
        if (causes.Select(c => c.Message).FirstOrDefault(m => m.Contains("SSL routines::", StringComparison.Ordinal)) is { } alert)
        {
            return IsClientCertificateAlert(alert) ? ClientCertificateRefused : $"the TLS handshake with etcd failed ({alert.Trim().TrimEnd('.')}){TlsAlertHint(alert)}";
        }

        // TLS 1.3: the client's certificate is checked after the client thinks the handshake is done, so a refusal may
        // also arrive as the connection closing under HTTP/2's preface, which HttpClient reports as a disposed SslStream.
        // Or as the first write failing under that preface: .NET's OpenSSL layer (an internal SslException, "Operation
        // failed with error - 5", SSL_ERROR_SYSCALL) under "The encryption operation failed" (seen in CI against etcd 3.4).
        if (causes.OfType<ObjectDisposedException>().Any(e => e.ObjectName?.EndsWith("SslStream", StringComparison.Ordinal) == true)
            || (causes.Any(c => c is IOException && c.Message.Contains("HTTP/2 handshake", StringComparison.Ordinal))
                && causes.Any(c => c is IOException && c.Message.StartsWith("The encryption operation failed", StringComparison.Ordinal))))
        {
            return ClientCertificateRefused;
        }

        Exception? handshake = causes.OfType<AuthenticationException>().FirstOrDefault<Exception>()
            ?? causes.OfType<HttpRequestException>().FirstOrDefault(e => e.HttpRequestError == HttpRequestError.SecureConnectionError);
        if (handshake is null)
        {
            return null;
        }

        string detail = string.Join(": ", Causes(handshake)
            .Where(c => !c.Message.Contains("see inner exception", StringComparison.OrdinalIgnoreCase))
            .Select(c => c.Message.Trim().TrimEnd('.'))
            .Distinct());
        return $"the TLS handshake with etcd failed ({detail}){TlsAlertHint(detail)}";
    }

    /// <summary>
    /// <see cref="TlsProblem(Exception?)"/>, and for a caller that knows its endpoints are TLS (https://) also the bare form
    /// of etcd's refusal of the client certificate: the HTTP/2 preface unanswered after the TLS handshake, with no cause
    /// under it (seen in CI from overlayctl against etcd 3.4 without a client certificate). Over plaintext the same words
    /// mean something else, hence the flag.
    /// </summary>
    public static string? TlsProblem(Exception? exception, bool overTls) =>
        TlsProblem(exception)
        ?? (overTls && Causes(exception).Any(c => c.Message.Contains("did not complete the HTTP/2 handshake", StringComparison.Ordinal))
            ? ClientCertificateRefused
            : null);

    /// <summary>
    /// One sentence whichever way the refusal arrived (an alert in the handshake or at the first read, or the
    /// connection closed), so overlayd logs it once however the attempts fail.
    /// </summary>
    internal const string ClientCertificateRefused =
        "etcd refused this side's client certificate, or requires one (a TLS alert or the connection closed after the handshake): "
        + "give --etcd-certfile and --etcd-keyfile with a certificate issued by the CA etcd trusts (its --trusted-ca-file) and not expired";

    private static bool IsClientCertificateAlert(string alert) =>
        ((string[])["certificate required", "bad certificate", "unknown ca", "certificate unknown", "certificate expired", "unsupported certificate", "access denied"])
            .Any(a => alert.Contains(a, StringComparison.OrdinalIgnoreCase));

    /// <summary>What a failed handshake's words mean for the endpoint.</summary>
    internal static string TlsAlertHint(string detail) =>
        ((string[])["wrong version number", "packet length too long", "unexpected EOF", "record layer failure"]).Any(d => detail.Contains(d, StringComparison.OrdinalIgnoreCase))
            ? "; the endpoint does not answer in TLS: check that it is etcd's https:// client URL"
            : "";

    /// <summary>The exception and its causes: inner exceptions, and gRPC's debug exception.</summary>
    private static IEnumerable<Exception> Causes(Exception? exception)
    {
        var seen = new HashSet<Exception>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<Exception>();
        if (exception is not null)
        {
            pending.Push(exception);
        }

        while (pending.Count > 0 && seen.Count < 32)
        {
            Exception current = pending.Pop();
            if (!seen.Add(current))
            {
                continue;
            }

            yield return current;
            if (current is AggregateException aggregate)
            {
                foreach (Exception inner in aggregate.InnerExceptions)
                {
                    pending.Push(inner);
                }
            }
            else if (current.InnerException is { } inner)
            {
                pending.Push(inner);
            }

            if (current is RpcException { Status.DebugException: { } debug })
            {
                pending.Push(debug);
            }
        }
    }

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
