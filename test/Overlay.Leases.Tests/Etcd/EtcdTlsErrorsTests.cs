using System.Security.Authentication;
using Grpc.Core;
using Overlay.Leases.Etcd;

namespace Overlay.Leases.Tests.Etcd;

/// <summary>
/// How a TLS failure under gRPC's error is told (<see cref="EtcdErrors.TlsProblem"/>): the exceptions are built the
/// way grpc-dotnet and HttpClient nest them (seen against etcd 3.4 with TLS 1.3).
/// </summary>
public sealed class EtcdTlsErrorsTests
{
    private static RpcException Unavailable(Exception debug) =>
        new(new Status(StatusCode.Unavailable, "Error starting gRPC call. " + debug.Message, debug));

    [Test]
    public void This_side_refusing_etcds_certificate_is_told_in_the_refusals_own_words()
    {
        var refusal = new EtcdTlsException("etcd's certificate (CN=etcd) is not signed by the CA in '/etc/overlay/ca.pem'; give the CA that issued etcd's certificate with --etcd-cafile");
        var error = Unavailable(new HttpRequestException(HttpRequestError.SecureConnectionError, "The SSL connection could not be established, see inner exception.", refusal));

        Assert.That(EtcdErrors.TlsProblem(error), Is.EqualTo(refusal.Message));
        Assert.That(EtcdErrors.Describe(error), Is.EqualTo(refusal.Message));
        Assert.That(EtcdErrors.IsTransient(error), Is.True, "overlayd keeps trying: the files or etcd's certificate may be fixed");
    }

    [Test]
    public void Etcd_closing_the_connection_after_the_handshake_points_at_the_client_certificate()
    {
        var closed = new IOException(
            "An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.",
            new ObjectDisposedException("System.Net.Security.SslStream"));
        var error = Unavailable(new HttpRequestException("An error occurred while sending the request.", closed));

        Assert.That(EtcdErrors.TlsProblem(error), Is.EqualTo(EtcdErrors.ClientCertificateRefused));
        Assert.That(EtcdErrors.ClientCertificateRefused, Does.StartWith("etcd refused this side's client certificate, or requires one").And.Contain("give --etcd-certfile and --etcd-keyfile"));
    }

    [Test]
    public void Etcd_closing_the_connection_under_the_first_write_is_the_same_refusal_of_the_client_certificate()
    {
        // Seen in CI against etcd 3.4 with a client certificate from another CA: the HTTP/2 preface's write failed.
        var failedWrite = new IOException("The encryption operation failed, see inner exception.",
            new InvalidOperationException("Operation failed with error - 5."));
        var preface = new IOException("An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.", failedWrite);
        var error = Unavailable(new HttpRequestException("An error occurred while sending the request.", preface));

        Assert.That(EtcdErrors.TlsProblem(error), Is.EqualTo(EtcdErrors.ClientCertificateRefused));
    }

    [Test]
    public void An_unanswered_HTTP2_preface_is_the_refusal_of_the_client_certificate_only_over_TLS()
    {
        // Seen in CI from overlayctl against etcd 3.4 without a client certificate: no cause under the preface's failure.
        var error = new RpcException(new Status(StatusCode.Internal, "Error starting gRPC call. HttpRequestException: An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.",
            new HttpRequestException("An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.")));

        Assert.That(EtcdErrors.TlsProblem(error, overTls: true), Is.EqualTo(EtcdErrors.ClientCertificateRefused));
        Assert.That(EtcdErrors.TlsProblem(error, overTls: false), Is.Null);
        Assert.That(EtcdErrors.TlsProblem(error), Is.Null);
    }

    [Test]
    public async Task A_session_whose_endpoints_are_all_https_describes_the_unanswered_preface_as_the_refusal_overlayd_logged_before()
    {
        // Seen in CI: overlayd with a client certificate from another CA logged the refusal, then this bare form, then the
        // refusal again (twice "once"), because its descriptions did not know the endpoints were TLS.
        var error = new RpcException(new Status(StatusCode.Internal, "Error starting gRPC call. HttpRequestException: An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.",
            new HttpRequestException("An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.")));
        await using var tls = new EtcdSession(new EtcdOptions { Endpoints = ["https://192.0.2.1:2379", "https://192.0.2.2:2379"] });
        await using var plain = new EtcdSession(new EtcdOptions { Endpoints = ["http://192.0.2.1:2379", "http://192.0.2.2:2379"] });

        Assert.That(tls.Describe(error), Is.EqualTo(EtcdErrors.ClientCertificateRefused));
        Assert.That(plain.Describe(error), Does.StartWith("Internal: Error starting gRPC call."));
        Assert.That(EtcdErrors.Describe(error, overTls: true), Is.EqualTo(EtcdErrors.ClientCertificateRefused));
    }

    [Test]
    public void A_failed_write_outside_the_HTTP2_preface_is_not_called_a_certificate_refusal()
    {
        var failedWrite = new IOException("The encryption operation failed, see inner exception.",
            new InvalidOperationException("Operation failed with error - 5."));
        var error = Unavailable(new HttpRequestException("An error occurred while sending the request.", failedWrite));

        Assert.That(EtcdErrors.TlsProblem(error), Is.Null);
    }

    [Test]
    public void Etcds_alert_at_the_first_read_is_the_same_refusal_of_the_client_certificate()
    {
        // Seen against etcd 3.4 without a client certificate: the alert came when HTTP/2 first read.
        var alert = new IOException("The decryption operation failed, see inner exception.",
            new InvalidOperationException("Decrypt failed with OpenSSL error - SSL_ERROR_SSL.", new InvalidOperationException("error:0A000412:SSL routines::sslv3 alert bad certificate")));
        var error = Unavailable(new HttpRequestException(HttpRequestError.InvalidResponse, "An HTTP/2 connection could not be established because the server did not complete the HTTP/2 handshake.", alert));

        Assert.That(EtcdErrors.TlsProblem(error), Is.EqualTo(EtcdErrors.ClientCertificateRefused));
    }

    [Test]
    public void A_failed_handshake_gives_its_cause_and_an_endpoint_that_does_not_speak_TLS_is_named_as_such()
    {
        var error = Unavailable(new HttpRequestException(HttpRequestError.SecureConnectionError, "The SSL connection could not be established, see inner exception.",
            new IOException("Received an unexpected EOF or 0 bytes from the transport stream.")));

        Assert.That(EtcdErrors.TlsProblem(error), Is.EqualTo(
            "the TLS handshake with etcd failed (Received an unexpected EOF or 0 bytes from the transport stream); the endpoint does not answer in TLS: check that it is etcd's https:// client URL"));
    }

    [TestCase("error:0A00045C:SSL routines::tlsv13 alert certificate required")]
    [TestCase("error:0A000412:SSL routines::sslv3 alert bad certificate")]
    [TestCase("error:0A000418:SSL routines::tlsv1 alert unknown ca")]
    public void A_TLS_alert_about_the_client_certificate_is_told_as_its_refusal(string openSsl)
    {
        var error = Unavailable(new HttpRequestException(HttpRequestError.SecureConnectionError, "The SSL connection could not be established, see inner exception.",
            new AuthenticationException("Authentication failed, see inner exception.", new InvalidOperationException(openSsl))));

        Assert.That(EtcdErrors.TlsProblem(error), Is.EqualTo(EtcdErrors.ClientCertificateRefused));
    }

    [Test]
    public void Another_TLS_alert_is_given_with_its_words()
    {
        const string openSsl = "error:0A00010B:SSL routines::wrong version number";
        var error = Unavailable(new HttpRequestException(HttpRequestError.SecureConnectionError, "The SSL connection could not be established, see inner exception.",
            new AuthenticationException("Authentication failed, see inner exception.", new InvalidOperationException(openSsl))));

        Assert.That(EtcdErrors.TlsProblem(error), Is.EqualTo($"the TLS handshake with etcd failed ({openSsl}); the endpoint does not answer in TLS: check that it is etcd's https:// client URL"));
    }

    [Test]
    public void Errors_that_are_not_about_TLS_have_no_TLS_problem_and_are_described_as_before()
    {
        var refused = Unavailable(new HttpRequestException("Connection refused (127.0.0.1:2379)", new System.Net.Sockets.SocketException(111)));
        var denied = new RpcException(new Status(StatusCode.PermissionDenied, "etcdserver: permission denied"));

        Assert.That(EtcdErrors.TlsProblem(refused), Is.Null);
        Assert.That(EtcdErrors.TlsProblem(denied), Is.Null);
        Assert.That(EtcdErrors.Describe(denied), Is.EqualTo("PermissionDenied: etcdserver: permission denied"));
    }
}
