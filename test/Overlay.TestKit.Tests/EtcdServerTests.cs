using NUnit.Framework;
using Overlay.TestKit;

namespace Overlay.TestKit.Tests;

public class EtcdServerTests
{
    private readonly List<EtcdServer> servers = [];
    private readonly List<IDisposable> disposables = [];

    [SetUp]
    public void RequireRoot() => Root.Require();

    [TearDown]
    public async Task StopEverything()
    {
        foreach (var server in servers)
        {
            server.AttachLogIfFailed();
            await server.DisposeAsync();
        }
        servers.Clear();
        foreach (var disposable in Enumerable.Reverse(disposables))
        {
            disposable.Dispose();
        }
        disposables.Clear();
    }

    private async Task<EtcdServer> Start(EtcdServerOptions? options = null)
    {
        var server = await EtcdServer.StartAsync(options);
        servers.Add(server);
        return server;
    }

    private T Own<T>(T disposable) where T : IDisposable
    {
        disposables.Add(disposable);
        return disposable;
    }

    [Test]
    public async Task A_key_put_with_etcdctl_is_read_back()
    {
        var etcd = await Start();

        etcd.Etcdctl("put", "/coreos.com/network/config", "{\"Network\":\"198.18.0.0/16\"}").EnsureSuccess();
        var value = etcd.Etcdctl("get", "--print-value-only", "/coreos.com/network/config").EnsureSuccess().StdOut;

        Assert.That(value, Is.EqualTo("{\"Network\":\"198.18.0.0/16\"}\n"));
        Assert.That(etcd.Endpoint, Does.Match(@"^http://127\.0\.0\.1:\d+$"));
    }

    [Test]
    public async Task Two_servers_get_different_ports_and_data_dirs()
    {
        var first = await Start();
        var second = await Start();

        Assert.That(second.Endpoint, Is.Not.EqualTo(first.Endpoint));
        Assert.That(second.DataDir, Is.Not.EqualTo(first.DataDir));
        first.Etcdctl("put", "k", "first").EnsureSuccess();
        Assert.That(second.Etcdctl("get", "--print-value-only", "k").EnsureSuccess().StdOut, Is.Empty);
    }

    [Test]
    public async Task StopAsync_makes_it_unreachable_and_StartAgainAsync_brings_back_the_same_data()
    {
        var etcd = await Start();
        etcd.Etcdctl("put", "survivor", "still here").EnsureSuccess();
        var endpoint = etcd.Endpoint;

        await etcd.StopAsync();

        Assert.That(etcd.ProcessId, Is.Null);
        Assert.That(etcd.Etcdctl("get", "survivor", "--dial-timeout", "500ms", "--command-timeout", "1s").ExitCode, Is.Not.EqualTo(0));

        await etcd.StartAgainAsync();

        Assert.That(etcd.Endpoint, Is.EqualTo(endpoint));
        Assert.That(etcd.Etcdctl("get", "--print-value-only", "survivor").EnsureSuccess().StdOut, Is.EqualTo("still here\n"));
    }

    [Test]
    public async Task After_DisposeAsync_the_process_is_gone_and_the_data_dir_deleted()
    {
        var etcd = await EtcdServer.StartAsync();
        var pid = etcd.ProcessId;
        Assert.That(pid, Is.Not.Null);
        Assert.That(Directory.Exists(Path.Combine(etcd.DataDir, "member")), Is.True);

        await etcd.DisposeAsync();
        await etcd.DisposeAsync();

        Assert.That(ProcessState.IsAlive(pid!.Value), Is.False);
        Assert.That(Directory.Exists(etcd.DataDir), Is.False);
    }

    [Test]
    public async Task CompactAsync_compacts_away_old_revisions()
    {
        var etcd = await Start();
        etcd.Etcdctl("put", "k", "v1").EnsureSuccess();
        var oldRevision = etcd.Etcdctl("get", "k", "-w", "json").EnsureSuccess().StdOut;
        etcd.Etcdctl("put", "k", "v2").EnsureSuccess();
        var latest = System.Text.Json.JsonDocument.Parse(etcd.Etcdctl("get", "k", "-w", "json").EnsureSuccess().StdOut)
            .RootElement.GetProperty("header").GetProperty("revision").GetInt64();
        var old = System.Text.Json.JsonDocument.Parse(oldRevision).RootElement.GetProperty("header").GetProperty("revision").GetInt64();
        Assert.That(etcd.Etcdctl("get", "k", "--rev", old.ToString(System.Globalization.CultureInfo.InvariantCulture)).ExitCode, Is.EqualTo(0));

        await etcd.CompactAsync(latest);

        var afterCompaction = etcd.Etcdctl("get", "k", "--rev", old.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(afterCompaction.ExitCode, Is.Not.EqualTo(0));
        Assert.That(afterCompaction.StdErr, Does.Contain("compacted"));
    }

    [Test]
    public async Task With_client_cert_auth_etcdctl_works_with_the_client_certificate_and_fails_without()
    {
        var certificates = Own(TestCertificates.Create());
        var etcd = await Start(new EtcdServerOptions { Tls = certificates, ClientCertAuth = true });

        etcd.Etcdctl("put", "secure", "yes").EnsureSuccess();
        var withoutClientCert = Shell.Run("etcdctl", "--endpoints", etcd.Endpoint, "--cacert", certificates.CaFile,
            "--dial-timeout", "1s", "--command-timeout", "2s", "get", "secure");

        Assert.That(etcd.Endpoint, Does.StartWith("https://"));
        Assert.That(etcd.Etcdctl("get", "--print-value-only", "secure").EnsureSuccess().StdOut, Is.EqualTo("yes\n"));
        Assert.That(withoutClientCert.ExitCode, Is.Not.EqualTo(0), withoutClientCert.StdOut);
    }

    [Test]
    public void TestCertificates_are_a_CA_a_server_cert_with_the_given_IPs_and_a_client_cert()
    {
        var certificates = Own(TestCertificates.Create("192.0.2.254"));

        var server = Shell.Run("openssl", "x509", "-in", certificates.ServerCertFile, "-noout", "-ext", "subjectAltName").EnsureSuccess().StdOut;
        var client = Shell.Run("openssl", "x509", "-in", certificates.ClientCertFile, "-noout", "-subject").EnsureSuccess().StdOut;

        Assert.That(server, Does.Contain("IP Address:192.0.2.254").And.Contain("IP Address:127.0.0.1").And.Contain("DNS:localhost"));
        Assert.That(client, Does.Contain("CN = overlay-client"));
        Shell.Run("openssl", "verify", "-CAfile", certificates.CaFile, certificates.ServerCertFile, certificates.ClientCertFile).EnsureSuccess();
        Assert.That(File.Exists(certificates.ServerKeyFile) && File.Exists(certificates.ClientKeyFile), Is.True);

        certificates.Dispose();

        Assert.That(Directory.Exists(certificates.Directory), Is.False);
    }

    [Test]
    public async Task Etcd_in_a_namespace_is_reachable_from_another_namespace_over_a_bridge()
    {
        var lab = Own(NetworkLab.Create());
        var sw = lab.AddNamespace("switch");
        var server = lab.AddNamespace("etcd");
        var client = lab.AddNamespace("client");
        var bridge = lab.AddBridge(sw, "br0");
        var (serverPort, serverEth) = lab.AddVethPair(sw, server, "p-etcd", "eth0");
        var (clientPort, clientEth) = lab.AddVethPair(sw, client, "p-client", "eth0");
        lab.AttachToBridge(sw, serverPort, bridge);
        lab.AttachToBridge(sw, clientPort, bridge);
        server.AddAddress(serverEth, "192.0.2.254/24");
        client.AddAddress(clientEth, "192.0.2.1/24");

        var etcd = await Start(new EtcdServerOptions { Namespace = server, ListenAddress = "192.0.2.254" });
        client.ExecChecked("etcdctl", "--endpoints", etcd.Endpoint, "put", "from-client", "over the bridge");

        Assert.That(etcd.Endpoint, Does.StartWith("http://192.0.2.254:"));
        Assert.That(etcd.Etcdctl("get", "--print-value-only", "from-client").EnsureSuccess().StdOut, Is.EqualTo("over the bridge\n"));
    }

    [Test]
    public async Task Etcd_in_a_namespace_with_TLS_serves_the_namespace_address()
    {
        var lab = Own(NetworkLab.Create());
        var server = lab.AddNamespace("etcd");
        var client = lab.AddNamespace("client");
        var (serverEth, clientEth) = lab.AddVethPair(server, client);
        server.AddAddress(serverEth, "203.0.113.254/24");
        client.AddAddress(clientEth, "203.0.113.1/24");
        var certificates = Own(TestCertificates.Create("203.0.113.254"));

        var etcd = await Start(new EtcdServerOptions { Namespace = server, ListenAddress = "203.0.113.254", Tls = certificates, ClientCertAuth = true });

        client.ExecChecked(["etcdctl", .. etcd.EtcdctlConnectionFlags(), "put", "tls", "in a namespace"]);
        Assert.That(etcd.Etcdctl("get", "--print-value-only", "tls").EnsureSuccess().StdOut, Is.EqualTo("in a namespace\n"));
    }

    [Test]
    public async Task DisposeAsync_kills_an_etcd_running_inside_a_namespace()
    {
        var lab = Own(NetworkLab.Create());
        var ns = lab.AddNamespace("etcd");
        var etcd = await EtcdServer.StartAsync(new EtcdServerOptions { Namespace = ns });
        var pid = etcd.ProcessId!.Value;
        Assert.That(Shell.Run("ip", "netns", "pids", ns.Name).StdOut, Does.Contain(pid.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        await etcd.DisposeAsync();

        Assert.That(ProcessState.IsAlive(pid), Is.False);
        Assert.That(Shell.Run("ip", "netns", "pids", ns.Name).StdOut, Is.Empty);
    }

    [Test]
    public async Task A_start_that_fails_throws_with_the_etcd_log()
    {
        var lab = Own(NetworkLab.Create());
        var ns = lab.AddNamespace("etcd");

        // 192.0.2.77 is not assigned in the namespace, so etcd cannot bind and exits.
        var error = Assert.ThrowsAsync<EtcdStartException>(() => EtcdServer.StartAsync(new EtcdServerOptions { Namespace = ns, ListenAddress = "192.0.2.77" }));

        Assert.That(error!.Message, Does.Contain("cannot assign requested address"));
        Assert.That(Poll.Until(() => Shell.Run("ip", "netns", "pids", ns.Name).StdOut.Length == 0), Is.True, "no etcd may be left running");
        await Task.CompletedTask;
    }

    [Test]
    public void Temp_leftovers_of_a_dead_test_process_are_killed_and_deleted()
    {
        var leftover = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"ovt-etcd-{DeadPid.Find()}-leftover")).FullName;
        // Stands in for an orphaned etcd: a process whose command line names the leftover data dir.
        using var orphan = System.Diagnostics.Process.Start("sh", ["-c", "sleep 1000; true", leftover]);
        try
        {
            Assert.That(ProcessState.IsAlive(orphan.Id), Is.True);

            TempLeftovers.Sweep();

            Assert.That(Directory.Exists(leftover), Is.False);
            Assert.That(Poll.Until(() => !ProcessState.IsAlive(orphan.Id)), Is.True);
        }
        finally
        {
            if (!orphan.HasExited)
            {
                orphan.Kill(entireProcessTree: true);
            }
            if (Directory.Exists(leftover))
            {
                Directory.Delete(leftover, recursive: true);
            }
        }
    }
}
