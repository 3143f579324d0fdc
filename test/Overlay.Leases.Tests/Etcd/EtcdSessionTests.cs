using Grpc.Core;
using Overlay.Leases.Etcd;
using Polly.Timeout;

namespace Overlay.Leases.Tests.Etcd;

public sealed class EtcdSessionTests
{
    [Test]
    public void Tls_files_with_plain_http_endpoints_are_refused_rather_than_sent_in_plaintext() =>
        Assert.That(() => new EtcdSession(new EtcdOptions { Endpoints = ["http://127.0.0.1:2379"], CaFile = "/nonexistent/ca.pem" }),
            Throws.ArgumentException.With.Message.Contains("http://"));

    [Test]
    public void A_client_certificate_needs_its_key() =>
        Assert.That(() => new EtcdSession(new EtcdOptions { Endpoints = ["https://127.0.0.1:2379"], CertFile = "/nonexistent/client.pem" }),
            Throws.ArgumentException.With.Message.Contains("--etcd-keyfile"));

    [Test]
    public void A_user_needs_a_password() =>
        Assert.That(() => new EtcdSession(new EtcdOptions { Username = "overlay" }),
            Throws.ArgumentException.With.Message.Contains("password"));

    [Test]
    public void No_endpoints_is_refused() =>
        Assert.That(() => new EtcdSession(new EtcdOptions { Endpoints = [] }), Throws.ArgumentException);

    [TestCase(StatusCode.Unavailable, "connection refused", true)]
    [TestCase(StatusCode.DeadlineExceeded, "", true)]
    [TestCase(StatusCode.Unauthenticated, "etcdserver: invalid auth token", true)]
    [TestCase(StatusCode.Unauthenticated, "etcdserver: authentication failed, invalid user ID or password", false)]
    [TestCase(StatusCode.PermissionDenied, "etcdserver: permission denied", false)]
    [TestCase(StatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request", false)]
    public void Which_grpc_failures_are_retried(StatusCode code, string detail, bool transient) =>
        Assert.That(EtcdErrors.IsTransient(new RpcException(new Status(code, detail))), Is.EqualTo(transient));

    [Test]
    public void Io_failures_and_timeouts_are_retried_unless_the_caller_cancelled()
    {
        Assert.That(EtcdErrors.IsTransient(new RpcException(new Status(StatusCode.Internal, "stream reset", new IOException("reset")))), Is.True);
        Assert.That(EtcdErrors.IsTransient(new RpcException(new Status(StatusCode.Internal, "bug"))), Is.False);
        Assert.That(EtcdErrors.IsTransient(new IOException("broken pipe")), Is.True);
        Assert.That(EtcdErrors.IsTransient(new HttpRequestException("refused")), Is.True);
        Assert.That(EtcdErrors.IsTransient(new TimeoutRejectedException()), Is.True);
        Assert.That(EtcdErrors.IsTransient(new IOException("broken pipe"), new CancellationToken(canceled: true)), Is.False);
    }
}
