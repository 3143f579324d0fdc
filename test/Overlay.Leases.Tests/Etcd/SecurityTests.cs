using Grpc.Core;
using Overlay.Core.Allocation;
using Overlay.Leases.Etcd;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;
using Overlay.TestKit;
using static Overlay.Leases.Tests.LeaseTesting;

namespace Overlay.Leases.Tests.Etcd;

/// <summary>TLS with client certificates, and a password-protected user limited to the prefix; an etcd per test.</summary>
public sealed class SecurityTests
{
    private const string RootPassword = "root-secret";
    private const string Prefix = "/coreos.com/network";

    private EtcdServer? etcd;
    private TestCertificates? certificates;

    [TearDown]
    public async Task StopEtcd()
    {
        if (etcd is not null)
        {
            etcd.AttachLogIfFailed();
            await etcd.DisposeAsync();
        }

        certificates?.Dispose();
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Leases_work_over_tls_with_a_ca_and_a_client_certificate(CancellationToken ct)
    {
        certificates = TestCertificates.Create();
        etcd = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certificates, ClientCertAuth = true }, ct);
        Assert.That(etcd.Endpoint, Does.StartWith("https://"));
        EtcdOptions options = Options(etcd, Prefix) with
        {
            CaFile = certificates.CaFile,
            CertFile = certificates.ClientCertFile,
            KeyFile = certificates.ClientKeyFile,
        };
        await using var session = new EtcdSession(options);

        OwnLease own = await UseAsync(session, ct);

        Assert.That(StoredLease(etcd, Prefix, own.Subnet), Is.Not.Null);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Without_the_client_certificate_a_server_requiring_one_refuses_the_connection(CancellationToken ct)
    {
        certificates = TestCertificates.Create();
        etcd = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certificates, ClientCertAuth = true }, ct);
        EtcdOptions options = Options(etcd, Prefix) with { CaFile = certificates.CaFile, CallTimeout = TimeSpan.FromSeconds(1) };
        await using var session = new EtcdSession(options);

        Assert.That(async () => await new LeaseStore(session).GetConfigJsonAsync(ct), Throws.InstanceOf<RpcException>());
        Assert.That(etcd.Etcdctl("get", "--prefix", Prefix).Succeeded, Is.True, "etcdctl, with the client certificate, gets in");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_server_certificate_from_another_ca_is_refused(CancellationToken ct)
    {
        certificates = TestCertificates.Create();
        using TestCertificates stranger = TestCertificates.Create();
        etcd = await EtcdServer.StartAsync(new EtcdServerOptions { Tls = certificates }, ct);
        EtcdOptions options = Options(etcd, Prefix) with { CaFile = stranger.CaFile, CallTimeout = TimeSpan.FromSeconds(1) };
        await using var session = new EtcdSession(options);

        Assert.That(async () => await new LeaseStore(session).GetConfigJsonAsync(ct), Throws.InstanceOf<RpcException>());
        await using var trusting = new EtcdSession(options with { CaFile = certificates.CaFile });
        Assert.That(await new LeaseStore(trusting).GetConfigJsonAsync(ct), Is.Null, "the right CA gets in");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task A_password_user_whose_role_covers_only_the_prefix_can_do_everything_the_daemon_needs(CancellationToken ct)
    {
        etcd = await EtcdServer.StartAsync(ct: ct);
        foreach (string[] command in new[]
        {
            new[] { "user", "add", $"root:{RootPassword}", "--interactive=false" },
            ["user", "grant-role", "root", "root"],
            ["role", "add", "overlay"],
            ["role", "grant-permission", "overlay", "--prefix=true", "readwrite", Prefix + "/"],
            ["user", "add", "overlay:overlay-secret", "--interactive=false"],
            ["user", "grant-role", "overlay", "overlay"],
            ["auth", "enable"],
        })
        {
            etcd.Etcdctl(command).EnsureSuccess();
        }

        EtcdOptions options = Options(etcd, Prefix) with { Username = "overlay", Password = "overlay-secret" };
        await using var session = new EtcdSession(options);

        OwnLease own = await UseAsync(session, ct);

        Assert.That(StoredLease(etcd, Prefix, own.Subnet, "--user", $"root:{RootPassword}"), Is.Not.Null);

        // etcd forgets its tokens when auth is switched off and on (and when it restarts): the session must
        // log in again by itself. (A restart cannot be used here: EtcdServer's health check has no credentials.)
        etcd.Etcdctl("auth", "disable", "--user", $"root:{RootPassword}").EnsureSuccess();
        etcd.Etcdctl("auth", "enable").EnsureSuccess();
        LeaseSnapshot afterRestart = await new LeaseStore(session).ListAsync(withExpiration: false, ct);
        Assert.That(afterRestart.Leases.Select(l => l.Subnet), Does.Contain(own.Subnet));

        await using var elsewhere = new EtcdSession(options with { Prefix = "/elsewhere" });
        var denied = Assert.ThrowsAsync<RpcException>(() => new LeaseStore(elsewhere).PutConfigJsonAsync(WideNetwork, ct));
        Assert.That(denied!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        await using var wrong = new EtcdSession(options with { Password = "wrong" });
        Assert.That(async () => await new LeaseStore(wrong).GetConfigJsonAsync(ct), Throws.InstanceOf<RpcException>());
    }

    /// <summary>Config, acquisition, renewal, listing and the watch: what the daemon does.</summary>
    private static async Task<OwnLease> UseAsync(EtcdSession session, CancellationToken ct)
    {
        var store = new LeaseStore(session);
        await store.PutConfigJsonAsync(SixtyFourSubnets, ct);
        var config = await store.WaitForConfigAsync(ct);
        NodeIdentity node = Node(1);
        OwnLease own = await store.AcquireAsync(config, node, Attributes(node), null, ct);
        own = await store.RenewAsync(own, ct);
        LeaseSnapshot listed = await store.ListAsync(withExpiration: true, ct);
        Assert.That(listed.Leases.Single().Expiration, Is.Not.Null);

        var watcher = new LeaseWatcher(session);
        await using var recorder = new Watching.WatchRecorder(watcher.WatchAsync(ct));
        await recorder.WaitUntilAsync(r => r.Updates.Count >= 1, "the initial list");
        NodeIdentity other = Node(2);
        OwnLease second = await store.AcquireAsync(config, other, Attributes(other), null, ct);
        await recorder.WaitUntilAsync(r => r.Changes.Any(c => c.Subnet == second.Subnet), "a watched change");
        return own;
    }
}
