using System.Text.RegularExpressions;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Commands;

/// <summary>
/// overlayd and overlayctl against an etcd in the switch namespace that serves TLS and requires client certificates
/// (<c>--client-cert-auth</c>), or that has users (<c>auth enable</c>): a real cluster whose pods ping across nodes,
/// and bad TLS material met at connect time, which both programs name with its fix.
/// </summary>
[NonParallelizable]
public sealed class TlsClusterTests
{
    private const string EtcdName = "etcd.example.test";

    private static string Overlayd => Path.Combine(AppContext.BaseDirectory, "overlayd.dll");

    private static string Overlayctl => Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");

    private OverlayCluster? cluster;

    [TearDown]
    public async Task StopCluster()
    {
        if (cluster is not null)
        {
            cluster.AttachLogsIfFailed();
            await cluster.DisposeAsync();
        }
    }

    [Test]
    [CancelAfter(150_000)]
    public async Task Nodes_on_an_etcd_requiring_client_certificates_and_a_user_lease_subnets_their_pods_ping_and_overlayctl_lists_the_leases(CancellationToken ct)
    {
        Root.Require();
        using TestCertificates certificates = TestCertificates.Create(OverlayCluster.SwitchAddress);
        cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions { Overlayd = Overlayd, Nodes = 3, EtcdTls = certificates, StartDaemons = false }, ct);
        Assert.That(cluster.Etcd.Endpoint, Does.StartWith("https://"));

        // etcd's users on top of its client certificates: a user whose role covers only the prefix logs in with a
        // password (the token wins over the certificate's CN, which has no user), as flanneld's --etcd-username does.
        const string root = "root:root-secret";
        foreach (string[] command in new[]
        {
            new[] { "user", "add", root, "--interactive=false" },
            ["user", "grant-role", "root", "root"],
            ["role", "add", "overlay"],
            ["role", "grant-permission", "overlay", "--prefix=true", "readwrite", cluster.Prefix + "/"],
            ["user", "add", "overlay:overlay-secret", "--interactive=false"],
            ["user", "grant-role", "overlay", "overlay"],
            ["auth", "enable"],
        })
        {
            cluster.Etcd.Etcdctl(command).EnsureSuccess();
        }

        ClusterNode first = cluster.Nodes[0];
        ClusterNode second = cluster.Nodes[1];
        ClusterNode wrong = cluster.Nodes[2];
        string[] user = ["--etcd-username", "overlay", "--etcd-password", "overlay-secret"];
        first.StartDaemon(user);
        second.StartDaemon(new Dictionary<string, string> { ["FLANNELD_ETCD_USERNAME"] = "overlay", ["FLANNELD_ETCD_PASSWORD"] = "overlay-secret" });
        wrong.StartDaemon("--etcd-username", "overlay", "--etcd-password", "wrong");
        first.AddPod();
        second.AddPod();

        Assert.That(PingLoss(first.Pod!, second.PodAddress), Is.EqualTo("0%"), $"{first.Name}'s pod to {second.Name}'s");
        Assert.That(PingLoss(second.Pod!, first.PodAddress), Is.EqualTo("0%"), $"{second.Name}'s pod to {first.Name}'s");
        CommandResult stored = cluster.Etcd.Etcdctl("get", "--prefix", "--keys-only", cluster.Prefix + "/subnets/", "--user", root).EnsureSuccess();
        Assert.That(stored.StdOut, Does.Contain(first.LeaseKey).And.Contain(second.LeaseKey));

        CommandResult listed = OverlayctlIn(first, ["leases", "list", .. cluster.EtcdConnectionArgs, .. user]);
        Assert.That(listed.ExitCode, Is.Zero, listed.StdErr);
        Assert.That(listed.StdOut, Does.Contain(first.LeaseSubnet).And.Contain(second.LeaseSubnet));

        // A wrong password is a setting to fix, not an outage to wait out: overlayd exits 1 and says which flags.
        Assert.That(wrong.WaitForDaemonExit(TimeSpan.FromSeconds(30)), Is.True, wrong.DaemonOutput);
        Assert.That(wrong.Daemon!.ExitCode, Is.EqualTo(1));
        Assert.That(wrong.DaemonOutput, Does.Contain("overlayd cannot run: etcd refused the request (").And.Contain("check --etcd-username and --etcd-password"));

        // Without its client certificate overlayctl is turned away by etcd, and says which flags to give.
        CommandResult withoutCertificate = OverlayctlIn(first, ["leases", "list", "--etcd-endpoints", cluster.Etcd.Endpoint, "--etcd-cafile", certificates.CaFile, .. user]);
        Assert.That(withoutCertificate.ExitCode, Is.EqualTo(1));
        Assert.That(withoutCertificate.StdErr, Does.StartWith($"error: cannot reach etcd at {cluster.Etcd.Endpoint} (endpoints from flag --etcd-endpoints) over TLS: etcd refused this side's client certificate, or requires one"));
    }

    /// <summary>One bad material for one node: its flags, and the problem both programs must state.</summary>
    private sealed record BadMaterial(string Name, string[] Flags, string Problem);

    [Test]
    [CancelAfter(150_000)]
    public async Task Bad_TLS_material_met_at_connect_time_is_logged_once_and_shown_on_readyz_while_overlayd_retries_and_overlayctl_exits_1_naming_it(CancellationToken ct)
    {
        Root.Require();
        using CertificateAuthority authority = CertificateAuthority.Create();
        using CertificateAuthority stranger = CertificateAuthority.Create("stranger-ca");
        using TestCertificates certificates = TestCertificates.From(
            authority,
            authority.IssueServer("overlay-etcd-server", "IP:127.0.0.1", "DNS:localhost", "IP:" + OverlayCluster.SwitchAddress),
            authority.IssueClient("overlay-client"));
        CertificateFiles expired = authority.IssueExpiredClient("expired-client");
        CertificateFiles strangersClient = stranger.IssueClient("overlay-client");
        cluster = await OverlayCluster.StartAsync(new OverlayClusterOptions { Overlayd = Overlayd, Nodes = 4, EtcdTls = certificates, StartDaemons = false }, ct);
        string otherName = $"https://{EtcdName}:{cluster.Etcd.ClientPort}";

        BadMaterial[] cases =
        [
            new("wrong CA", ["--etcd-cafile", stranger.CaFile],
                $"etcd's certificate (CN=overlay-etcd-server, for DNS:localhost, IP:127.0.0.1, IP:{OverlayCluster.SwitchAddress}, issued by CN=overlay-test-ca) is not signed by the CA in '{stranger.CaFile}'"),
            new("expired client certificate", ["--etcd-certfile", expired.CertFile, "--etcd-keyfile", expired.KeyFile],
                $"the client certificate '{expired.CertFile}' (--etcd-certfile) expired: it is valid from "),
            new("server certificate for another name", ["--etcd-endpoints", otherName],
                $"etcd's certificate (CN=overlay-etcd-server, for DNS:localhost, IP:127.0.0.1, IP:{OverlayCluster.SwitchAddress}, issued by CN=overlay-test-ca) is not valid for {EtcdName}"),
            new("client certificate from another CA", ["--etcd-certfile", strangersClient.CertFile, "--etcd-keyfile", strangersClient.KeyFile],
                "etcd refused this side's client certificate, or requires one"),
        ];

        for (int i = 0; i < cases.Length; i++)
        {
            ClusterNode node = cluster.Nodes[i];
            // etcd.example.test is the switch's address in every node, so the endpoint reaches etcd by a name its certificate lacks.
            Directory.CreateDirectory(node.Ns.EtcFolder);
            await File.WriteAllTextAsync(Path.Combine(node.Ns.EtcFolder, "hosts"), $"127.0.0.1 localhost\n{OverlayCluster.SwitchAddress} {EtcdName}\n", ct);
            node.StartDaemon(cases[i].Flags);
        }

        // Each daemon states its problem, and goes on trying (about once a second) without stating it again.
        for (int i = 0; i < cases.Length; i++)
        {
            ClusterNode node = cluster.Nodes[i];
            Assert.That(Poll.Until(() => node.DaemonOutput.Contains(cases[i].Problem, StringComparison.Ordinal), TimeSpan.FromSeconds(45)), Is.True,
                $"{cases[i].Name}: overlayd on {node.Name} never said '{cases[i].Problem}':\n{node.DaemonOutput}");
        }

        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        for (int i = 0; i < cases.Length; i++)
        {
            ClusterNode node = cluster.Nodes[i];
            string output = node.DaemonOutput;
            Assert.That(node.Daemon!.HasExited, Is.False, $"{cases[i].Name}: overlayd exited:\n{output}");
            Assert.That(Regex.Count(output, Regex.Escape(cases[i].Problem)), Is.EqualTo(1), $"{cases[i].Name}: logged once, not at every retry:\n{output}");
            Assert.That(output, Does.Contain("etcd is unreachable (" + cases[i].Problem));
            string readyz = HttpGet(node, "/readyz");
            Assert.That(readyz, Does.StartWith("HTTP/1.1 503").And.Contain("not ready: cannot read /coreos.com/network/config: etcd is unreachable (" + cases[i].Problem), cases[i].Name);
            Assert.That(node.ReadSubnetFile(), Is.Null);
            await TestContext.Out.WriteLineAsync($"{cases[i].Name}:\n  {output.Split('\n').First(l => l.Contains(cases[i].Problem, StringComparison.Ordinal)).Trim()}\n  {readyz.Split("\r\n\r\n").Last().Trim()}");
        }

        // overlayctl, given the same material, stops at once with the same words (exit 1: the operation failed).
        CommandResult[] results = await Task.WhenAll(cases.Select((bad, i) => Task.Run(
            () => OverlayctlIn(cluster.Nodes[i], ["leases", "list", .. Overriding(cluster.EtcdConnectionArgs, bad.Flags)]), ct)));
        for (int i = 0; i < cases.Length; i++)
        {
            string endpoint = cases[i].Flags.Contains("--etcd-endpoints") ? otherName : cluster.Etcd.Endpoint;
            await TestContext.Out.WriteLineAsync($"{cases[i].Name}: exit {results[i].ExitCode}\n{results[i].StdErr}");
            Assert.That(results[i].ExitCode, Is.EqualTo(1), $"{cases[i].Name}: {results[i].StdErr}");
            Assert.That(results[i].StdErr, Does.StartWith($"error: cannot reach etcd at {endpoint} (endpoints from flag --etcd-endpoints) over TLS: {cases[i].Problem}"), cases[i].Name);
        }
    }

    /// <summary>"--flag value" pairs of <paramref name="given"/> with those of <paramref name="overrides"/> in their place: overlayctl refuses a flag given twice.</summary>
    private static string[] Overriding(IReadOnlyList<string> given, string[] overrides)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (IReadOnlyList<string> pairs in new[] { given, overrides })
        {
            for (int i = 0; i + 1 < pairs.Count; i += 2)
            {
                flags[pairs[i]] = pairs[i + 1];
            }
        }

        return [.. flags.SelectMany(f => new[] { f.Key, f.Value })];
    }

    private static CommandResult OverlayctlIn(ClusterNode node, string[] args) => node.Ns.Exec(["dotnet", Overlayctl, .. args]);

    /// <summary>ping's loss figure ("0%") for 10 pings 0.1 s apart.</summary>
    private static string PingLoss(NetNs from, string to)
    {
        CommandResult ping = from.Exec("ping", "-n", "-q", "-c", "10", "-i", "0.1", "-W", "1", to);
        Match loss = Regex.Match(ping.StdOut, @"(\d+(?:\.\d+)?%) packet loss");
        return loss.Success ? loss.Groups[1].Value : ping.StdOut + ping.StdErr;
    }

    private static string HttpGet(ClusterNode node, string path) =>
        node.Ns.Exec("bash", "-c", $"exec 3<>/dev/tcp/{node.UnderlayAddress}/9100 && printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3").StdOut;
}
