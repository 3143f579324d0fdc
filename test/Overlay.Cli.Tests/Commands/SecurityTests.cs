using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Commands;

/// <summary>TLS with client certificates, and a password user; an etcd per test.</summary>
public sealed class SecurityTests
{
    private const string Prefix = "/coreos.com/network";
    private const string Lease = """{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"vxlan"}""";

    private EtcdServer? etcd;
    private TestCertificates? certificates;

    [TearDown]
    public async Task StopEtcd()
    {
        if (etcd is not null)
        {
            etcd.AttachLogIfFailed();
            await etcd.DisposeAsync();
            etcd = null;
        }

        certificates?.Dispose();
        certificates = null;
    }

    [Test]
    public async Task Leases_list_works_over_TLS_with_the_CA_and_client_certificate_from_flags_or_environment()
    {
        certificates = TestCertificates.Create();
        etcd = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certificates, ClientCertAuth = true });
        etcd.Etcdctl("put", Prefix + "/subnets/198.18.9.0-24", Lease).EnsureSuccess();

        CliResult byFlags = await Cli.RunAsync(
            ["leases", "list", "--etcd-endpoints", etcd.Endpoint, "--etcd-cafile", certificates.CaFile, "--etcd-certfile", certificates.ClientCertFile, "--etcd-keyfile", certificates.ClientKeyFile],
            new Dictionary<string, string?>(),
            "");
        CliResult byEnvironment = await Cli.RunAsync(
            ["leases", "list"],
            new Dictionary<string, string?>
            {
                ["FLANNELD_ETCD_ENDPOINTS"] = etcd.Endpoint,
                ["FLANNELD_ETCD_CAFILE"] = certificates.CaFile,
                ["OVERLAYD_ETCD_CERTFILE"] = certificates.ClientCertFile,
                ["OVERLAYD_ETCD_KEYFILE"] = certificates.ClientKeyFile,
            },
            "");

        Assert.That(byFlags.ExitCode, Is.Zero, byFlags.ToString());
        Assert.That(byFlags.Out, Does.Contain("198.18.9.0/24"));
        Assert.That(byEnvironment.ExitCode, Is.Zero, byEnvironment.ToString());
        Assert.That(byEnvironment.Out, Is.EqualTo(byFlags.Out));
    }

    [Test]
    public async Task Without_the_client_certificate_the_error_points_at_the_TLS_flags()
    {
        certificates = TestCertificates.Create();
        etcd = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certificates, ClientCertAuth = true });

        CliResult result = await Cli.RunAsync(
            ["leases", "list", "--etcd-endpoints", etcd.Endpoint, "--etcd-cafile", certificates.CaFile, "--command-timeout", "1s"],
            new Dictionary<string, string?>(),
            "");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith($"error: cannot reach etcd at {etcd.Endpoint}"));
        Assert.That(result.Err, Does.Contain(" over TLS: etcd refused this side's client certificate, or requires one"));
    }

    [Test]
    public async Task An_https_endpoint_only_ever_gets_TLS_handshakes_even_when_they_fail()
    {
        certificates = TestCertificates.Create();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var firstBytes = new ConcurrentQueue<int>();
        using var stop = new CancellationTokenSource();
        Task accepting = RecordFirstBytesAsync(listener, firstBytes, stop.Token);

        CliResult result = await Cli.RunAsync(
            ["leases", "list", "--etcd-endpoints", $"https://127.0.0.1:{port}", "--etcd-cafile", certificates.CaFile, "--command-timeout", "1s"],
            new Dictionary<string, string?>(),
            "");
        await stop.CancelAsync();
        await accepting;

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith($"error: cannot reach etcd at https://127.0.0.1:{port} (endpoints from flag --etcd-endpoints) over TLS: the TLS handshake with etcd failed ("));
        // A connection given up before its first byte (-1) sent nothing at all, plaintext least of all.
        Assert.That(firstBytes.Where(b => b != -1), Is.Not.Empty.And.All.EqualTo(0x16),
            $"every connection that sent something started with a TLS handshake record, none with HTTP/2's plaintext preface ('P'): {string.Join(",", firstBytes)}");
    }

    /// <summary>Accepts connections until cancelled and records the first byte each sends (-1: none), then closes it.</summary>
    private static async Task RecordFirstBytesAsync(TcpListener listener, ConcurrentQueue<int> firstBytes, CancellationToken ct)
    {
        try
        {
            while (true)
            {
                using TcpClient connection = await listener.AcceptTcpClientAsync(ct);
                using var read = CancellationTokenSource.CreateLinkedTokenSource(ct);
                read.CancelAfter(TimeSpan.FromSeconds(2));
                byte[] buffer = new byte[1];
                try
                {
                    firstBytes.Enqueue(await connection.GetStream().ReadAsync(buffer, read.Token) == 1 ? buffer[0] : -1);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    firstBytes.Enqueue(-1);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    [Test]
    public async Task A_password_user_gets_in_and_a_wrong_password_is_refused_with_exit_1()
    {
        etcd = await EtcdServer.StartAsync();
        foreach (string[] command in new[]
        {
            new[] { "user", "add", "root:root-secret", "--interactive=false" },
            ["user", "grant-role", "root", "root"],
            ["auth", "enable"],
        })
        {
            etcd.Etcdctl(command).EnsureSuccess();
        }

        etcd.Etcdctl("put", Prefix + "/subnets/198.18.9.0-24", Lease, "--user", "root:root-secret").EnsureSuccess();
        string[] connect = ["--etcd-endpoints", etcd.Endpoint, "--etcd-username", "root"];

        CliResult right = await Cli.RunAsync(["leases", "list", .. connect], new Dictionary<string, string?> { ["OVERLAYD_ETCD_PASSWORD"] = "root-secret" }, "");
        CliResult wrong = await Cli.RunAsync(["leases", "list", .. connect, "--etcd-password", "wrong"], new Dictionary<string, string?>(), "");
        CliResult none = await Cli.RunAsync(["leases", "list", "--etcd-endpoints", etcd.Endpoint], new Dictionary<string, string?>(), "");

        Assert.That(right.ExitCode, Is.Zero, right.ToString());
        Assert.That(right.Out, Does.Contain("198.18.9.0/24"));
        Assert.That(wrong.ExitCode, Is.EqualTo(1));
        Assert.That(wrong.Err, Does.StartWith("error: etcd refused the request ("));
        Assert.That(wrong.Err, Does.Contain("check --etcd-username and --etcd-password"));
        Assert.That(none.ExitCode, Is.EqualTo(1));
        Assert.That(none.Err, Does.StartWith("error: etcd refused the request ("));
    }
}
