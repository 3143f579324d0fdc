using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Overlay.Daemon.Options;

namespace Overlay.Daemon.Tests.Options;

/// <summary>Every flag flanneld v0.22 accepts is accepted by overlayd: implemented, or without effect and said so once.</summary>
public class FlanneldFlagsTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    /// <summary>
    /// A PEM file with a certificate and its key (written by <see cref="WritePem"/>): the TLS flags' files are read when
    /// parsed, so each must hold what its flag needs. Declared first: the tables below use it in their initializers.
    /// </summary>
    private static readonly string Pem = Path.Combine(Path.GetTempPath(), "overlay-flanneld-flags-tests.pem");

    /// <summary>The etcd flags are checked together (TLS files exist and go with https://, a user has a password): what each needs beside it.</summary>
    private static readonly Dictionary<string, string[]> Companions = new(StringComparer.Ordinal)
    {
        ["etcd-keyfile"] = ["--etcd-endpoints=https://192.0.2.1:2379", "--etcd-certfile=" + Pem],
        ["etcd-certfile"] = ["--etcd-endpoints=https://192.0.2.1:2379", "--etcd-keyfile=" + Pem],
        ["etcd-cafile"] = ["--etcd-endpoints=https://192.0.2.1:2379"],
        ["etcd-username"] = ["--etcd-password=secret"],
        ["etcd-password"] = ["--etcd-username=flannel"],
    };

    /// <summary>
    /// flanneld v0.22.x's flag set, read from its main.go (Go's flag package: flannel's own flags, then klog's -v,
    /// -vmodule and -log_backtrace_at, which it copies): the flag, a value flanneld accepts, and what overlayd does.
    /// Written out here rather than taken from DaemonFlags, so that a flag the daemon forgets fails.
    /// </summary>
    private static readonly (string Flag, string Value, FlanneldFlagHandling Handling, string Warning)[] FlanneldV022 =
    [
        ("etcd-endpoints", "http://192.0.2.1:2379", FlanneldFlagHandling.Implemented, ""),
        ("etcd-prefix", "/coreos.com/network", FlanneldFlagHandling.Implemented, ""),
        ("etcd-keyfile", Pem, FlanneldFlagHandling.Implemented, ""),
        ("etcd-certfile", Pem, FlanneldFlagHandling.Implemented, ""),
        ("etcd-cafile", Pem, FlanneldFlagHandling.Implemented, ""),
        ("etcd-username", "flannel", FlanneldFlagHandling.Implemented, ""),
        ("etcd-password", "secret", FlanneldFlagHandling.Implemented, ""),
        ("iface", "eth1", FlanneldFlagHandling.Implemented, ""),
        ("iface-regex", "^eth", FlanneldFlagHandling.Implemented, ""),
        ("iface-can-reach", "192.0.2.1", FlanneldFlagHandling.Implemented, ""),
        ("subnet-file", "/run/flannel/subnet.env", FlanneldFlagHandling.Implemented, ""),
        ("public-ip", "192.0.2.11", FlanneldFlagHandling.Implemented, ""),
        ("public-ipv6", "2001:db8::11", FlanneldFlagHandling.Implemented, ""),
        ("subnet-lease-renew-margin", "60", FlanneldFlagHandling.Implemented, ""),
        ("ip-masq", "true", FlanneldFlagHandling.Implemented, ""),
        ("kube-subnet-mgr", "false", FlanneldFlagHandling.Refused, "leases are kept in etcd"),
        ("kube-api-url", "https://192.0.2.1:6443", FlanneldFlagHandling.WithoutEffect, "Kubernetes subnet manager"),
        ("kube-annotation-prefix", "flannel.alpha.coreos.com", FlanneldFlagHandling.WithoutEffect, "Kubernetes subnet manager"),
        ("kubeconfig-file", "/etc/kubernetes/flannel.conf", FlanneldFlagHandling.WithoutEffect, "Kubernetes subnet manager"),
        ("version", "false", FlanneldFlagHandling.Implemented, ""),
        ("healthz-ip", "0.0.0.0", FlanneldFlagHandling.Implemented, ""),
        ("healthz-port", "0", FlanneldFlagHandling.Implemented, ""),
        ("iptables-resync", "5", FlanneldFlagHandling.WithoutEffect, "every 5 s"),
        ("iptables-forward-rules", "true", FlanneldFlagHandling.Implemented, ""),
        ("net-config-path", "/etc/kube-flannel/net-conf.json", FlanneldFlagHandling.WithoutEffect, "<etcd-prefix>/config"),
        ("set-node-network-unavailable", "true", FlanneldFlagHandling.WithoutEffect, "Kubernetes subnet manager"),
        ("use-multi-cluster-cidr", "false", FlanneldFlagHandling.WithoutEffect, "Kubernetes subnet manager"),
        ("v", "2", FlanneldFlagHandling.WithoutEffect, "no verbosity levels"),
        ("vmodule", "main=3", FlanneldFlagHandling.WithoutEffect, "klog option"),
        ("log_backtrace_at", "main.go:100", FlanneldFlagHandling.WithoutEffect, "klog option"),
    ];

    private static IEnumerable<TestCaseData> FlagsWithoutEffect() =>
        FlanneldV022.Where(f => f.Handling == FlanneldFlagHandling.WithoutEffect)
            .Concat([("logtostderr", "true", default, "standard error"), ("alsologtostderr", "false", default, "standard error"),
                ("log_dir", "/var/log", default, "no log files"), ("log_file", "/var/log/flanneld.log", default, "no log files"),
                ("log_file_max_size", "1800", default, "no log files"), ("one_output", "true", default, "no log files"),
                ("skip_log_headers", "true", default, "no log files"), ("stderrthreshold", "ERROR", default, "no log files"),
                ("add_dir_header", "true", default, "klog option"), ("skip_headers", "true", default, "klog option")])
            .Select(f => new TestCaseData(f.Flag, f.Value, f.Warning).SetArgDisplayNames("--" + f.Flag));

    private static IEnumerable<TestCaseData> ImplementedFlags() =>
        FlanneldV022.Where(f => f.Handling == FlanneldFlagHandling.Implemented)
            .Select(f => new TestCaseData(f.Flag, f.Value).SetArgDisplayNames("--" + f.Flag));

    [OneTimeSetUp]
    public void WritePem()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=overlay-flags-test", key, HashAlgorithmName.SHA256);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        string written = Pem + "." + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(written, certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n");
        File.Move(written, Pem, overwrite: true);
    }

    private static DaemonOptions Parse(params string[] args) => DaemonFlags.Parse(args, NoEnvironment);

    [Test]
    public void The_daemons_table_of_flanneld_flags_is_flanneld_v0_22s_flag_set()
    {
        Assert.That(DaemonFlags.FlanneldFlags.Select(f => (f.Name, f.Handling)), Is.EqualTo(FlanneldV022.Select(f => (f.Flag, f.Handling))));
    }

    [TestCaseSource(nameof(ImplementedFlags))]
    public void A_flag_overlayd_implements_is_taken_without_a_warning(string flag, string value)
    {
        DaemonOptions options = Parse([$"--{flag}={value}", .. Companions.GetValueOrDefault(flag, [])]);

        Assert.That(options.FlagsWithoutEffect, Is.Empty);
    }

    [TestCaseSource(nameof(FlagsWithoutEffect))]
    public void A_flag_without_effect_is_accepted_and_warned_about_once_with_the_reason(string flag, string value, string reason)
    {
        DaemonOptions options = DaemonFlags.Parse([$"-{flag}={value}", $"--{flag}={value}"], new Dictionary<string, string?> { ["FLANNELD_" + flag.ToUpperInvariant().Replace('-', '_')] = value });

        Assert.That(options.FlagsWithoutEffect, Has.Count.EqualTo(1));
        Assert.That(options.FlagsWithoutEffect[0].Flag, Is.EqualTo(flag));
        Assert.That(options.FlagsWithoutEffect[0].Why, Does.Contain(reason));
    }

    [Test]
    public void The_kubernetes_subnet_manager_is_refused_with_the_reason_and_its_false_value_is_accepted()
    {
        Assert.That(Assert.Throws<UsageException>(() => Parse("-kube-subnet-mgr"))!.Message,
            Is.EqualTo("flag --kube-subnet-mgr is not supported: overlayd keeps leases and the network config in etcd only; drop --kube-subnet-mgr and pass --etcd-endpoints"));
        Assert.That(Assert.Throws<UsageException>(() => DaemonFlags.Parse([], new Dictionary<string, string?> { ["FLANNELD_KUBE_SUBNET_MGR"] = "true" }))!.Message,
            Does.StartWith("environment variable FLANNELD_KUBE_SUBNET_MGR: flag --kube-subnet-mgr is not supported"));
        Assert.That(Parse("--kube-subnet-mgr=false").FlagsWithoutEffect.Single().Flag, Is.EqualTo("kube-subnet-mgr"));
    }

    [Test]
    public void Go_flag_syntax_is_read_as_flanneld_reads_it()
    {
        // -v=2, --v=2 and -v 2 (a value flag takes the next argument); a boolean flag alone is true and takes no next argument.
        Assert.That(Parse("-v=2").FlagsWithoutEffect.Single().Source, Is.EqualTo("flag --v"));
        Assert.That(Parse("--v=2").FlagsWithoutEffect.Single().Flag, Is.EqualTo("v"));
        DaemonOptions spaced = Parse("-v", "2", "-ip-masq", "-logtostderr", "-iface", "eth1");
        Assert.That(spaced.FlagsWithoutEffect.Select(f => f.Flag), Is.EqualTo(new[] { "v", "logtostderr" }));
        Assert.That(spaced.IpMasq, Is.True);
        Assert.That(spaced.Iface, Is.EqualTo(new[] { "eth1" }));
        Assert.That(Parse("-ip-masq=false").IpMasq, Is.False);
        Assert.That(Parse("-h").Help, Is.True, "Go's flag package answers -h with the usage");
    }

    [TestCase("-v=two", "--v", "whole number")]
    [TestCase("--iptables-resync=5s", "--iptables-resync", "whole number")]
    [TestCase("--logtostderr=yes", "--logtostderr", "true or false")]
    [TestCase("-v", "--v", "needs a value")]
    public void A_value_flanneld_would_refuse_is_refused_naming_the_flag(string arg, string flag, string valid)
    {
        Assert.That(Assert.Throws<UsageException>(() => Parse(arg))!.Message, Does.Contain(flag).And.Contain(valid));
    }

    [Test]
    public void An_etc_default_flanneld_file_is_taken_as_the_environment_with_one_warning_per_flag_without_effect()
    {
        const string File = """
            # /etc/default/flanneld, as a flanneld node had it
            FLANNELD_ETCD_ENDPOINTS=http://192.0.2.1:2379,http://192.0.2.2:2379
            FLANNELD_ETCD_PREFIX=/coreos.com/network
            FLANNELD_IFACE=eth1
            FLANNELD_IP_MASQ=true
            FLANNELD_V=2
            FLANNELD_IPTABLES_RESYNC=5
            FLANNELD_KUBE_SUBNET_MGR=false
            FLANNELD_PUBLIC_IPV6=
            FLANNELD_IFACE_REGEXP=^eth
            """;
        Dictionary<string, string?> environment = File.Split('\n', StringSplitOptions.TrimEntries)
            .Where(line => line.Length > 0 && !line.StartsWith('#'))
            .Select(line => line.Split('=', 2))
            .ToDictionary(kv => kv[0], kv => (string?)kv[1], StringComparer.Ordinal);

        DaemonOptions options = DaemonFlags.Parse(["-v=3"], environment);

        Assert.That(options.Etcd.Endpoints, Is.EqualTo(new[] { "http://192.0.2.1:2379", "http://192.0.2.2:2379" }));
        Assert.That(options.Iface, Is.EqualTo(new[] { "eth1" }));
        Assert.That(options.IpMasq, Is.True);
        Assert.That(options.PublicIPv6, Is.Null, "an empty variable is unset, as in flanneld");
        Assert.That(options.FlagsWithoutEffect.Select(f => (f.Flag, f.Source)), Is.EquivalentTo(new[]
        {
            ("iptables-resync", "environment variable FLANNELD_IPTABLES_RESYNC"),
            ("v", "environment variable FLANNELD_V"),
            ("kube-subnet-mgr", "environment variable FLANNELD_KUBE_SUBNET_MGR"),
        }), "one warning each, though -v is also on the command line");
        Assert.That(options.UnknownVariables, Is.EqualTo(new[] { "FLANNELD_IFACE_REGEXP" }), "a variable of no flag: flanneld ignores it silently; overlayd warns");
    }

    [Test]
    public void The_help_names_the_flags_without_effect_and_the_refused_one()
    {
        string help = DaemonFlags.HelpText();

        Assert.That(help, Does.Contain("--iptables-resync").And.Contain("--logtostderr").And.Contain("Refused: --kube-subnet-mgr"));
    }

    [Test]
    public void A_one_letter_flag_is_not_suggested_for_every_unknown_name_that_contains_its_letter()
    {
        Assert.That(Assert.Throws<UsageException>(() => Parse("--verbose"))!.Message, Does.Not.Contain("did you mean --v?"));
    }
}
