using Overlay.Leases.Etcd;
namespace Overlay.Leases.Tests.Etcd;

/// <summary>The one definition of the etcd flags overlayd and overlayctl share: pure, the files answered by a stub.</summary>
public sealed class EtcdFlagsTests
{
    private const string Pem = "/etc/overlay/ca.pem";
    private const string ClientPem = "/etc/overlay/client.pem";
    private const string KeyPem = "/etc/overlay/client-key.pem";

    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private static ResolvedEtcdFlags Resolve(Dictionary<string, string> commandLine, Dictionary<string, string?>? environment = null) =>
        EtcdFlags.Resolve(commandLine, environment ?? NoEnvironment, path => path is Pem or ClientPem or KeyPem);

    [Test]
    public void Nothing_given_means_flannels_defaults()
    {
        ResolvedEtcdFlags resolved = Resolve([]);

        Assert.That(resolved.Problems, Is.Empty);
        Assert.That(resolved.Options!.Endpoints, Is.EqualTo(new[] { "http://127.0.0.1:2379" }));
        Assert.That(resolved.Options.Prefix, Is.EqualTo("/coreos.com/network"));
        Assert.That(new[] { resolved.Options.CaFile, resolved.Options.CertFile, resolved.Options.KeyFile, resolved.Options.Username, resolved.Options.Password }, Has.All.Null);
        Assert.That(resolved.EndpointsSource, Is.EqualTo("the default"));
    }

    [Test]
    public void Every_flag_is_read_from_FLANNELD_then_OVERLAYD_then_the_command_line()
    {
        Assert.That(EtcdFlags.All.Select(f => f.Name), Is.EqualTo(new[]
        {
            "etcd-endpoints", "etcd-prefix", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-username", "etcd-password",
        }));
        Assert.That(EtcdFlags.Prefix.EnvironmentVariables, Is.EqualTo(new[] { "FLANNELD_ETCD_PREFIX", "OVERLAYD_ETCD_PREFIX" }));

        var environment = new Dictionary<string, string?>
        {
            ["FLANNELD_ETCD_ENDPOINTS"] = "nonsense: overridden, so never checked",
            ["OVERLAYD_ETCD_ENDPOINTS"] = "https://192.0.2.2:2379, https://192.0.2.3:2379",
            ["FLANNELD_ETCD_PREFIX"] = "/flannel/",
            ["OVERLAYD_ETCD_CAFILE"] = Pem,
            ["FLANNELD_ETCD_USERNAME"] = "overlay",
            ["OVERLAYD_ETCD_PASSWORD"] = "secret",
        };

        ResolvedEtcdFlags fromEnvironment = Resolve([], environment);
        ResolvedEtcdFlags fromFlag = Resolve(new() { ["etcd-prefix"] = "/flag", ["etcd-endpoints"] = "https://192.0.2.4:2379" }, environment);

        Assert.That(fromEnvironment.Problems, Is.Empty);
        Assert.That(fromEnvironment.Options!.Endpoints, Is.EqualTo(new[] { "https://192.0.2.2:2379", "https://192.0.2.3:2379" }));
        Assert.That(fromEnvironment.EndpointsSource, Is.EqualTo("environment variable OVERLAYD_ETCD_ENDPOINTS"));
        Assert.That(fromEnvironment.Options.Prefix, Is.EqualTo("/flannel"), "a trailing slash is dropped");
        Assert.That((fromEnvironment.Options.CaFile, fromEnvironment.Options.Username, fromEnvironment.Options.Password), Is.EqualTo((Pem, "overlay", "secret")));
        Assert.That(fromFlag.Options!.Prefix, Is.EqualTo("/flag"));
        Assert.That(fromFlag.Options.Endpoints, Is.EqualTo(new[] { "https://192.0.2.4:2379" }));
        Assert.That(fromFlag.EndpointsSource, Is.EqualTo("flag --etcd-endpoints"));
    }

    [Test]
    public void An_empty_user_name_or_password_means_none()
    {
        ResolvedEtcdFlags resolved = Resolve(new() { ["etcd-username"] = "", ["etcd-password"] = "" });

        Assert.That(resolved.Problems, Is.Empty);
        Assert.That((resolved.Options!.Username, resolved.Options.Password), Is.EqualTo(((string?)null, (string?)null)));
    }

    private static readonly object[] BadSettings =
    [
        new object[] { "etcd-prefix", "coreos.com/network", "flag --etcd-prefix: 'coreos.com/network' is not an etcd prefix; give one such as /coreos.com/network" },
        new object[] { "etcd-prefix", "", "flag --etcd-prefix: '' is not an etcd prefix; give one such as /coreos.com/network" },
        new object[] { "etcd-endpoints", "", "flag --etcd-endpoints is empty: give at least one endpoint such as http://127.0.0.1:2379" },
        new object[] { "etcd-endpoints", " , ", "flag --etcd-endpoints is empty: give at least one endpoint such as http://127.0.0.1:2379" },
        new object[] { "etcd-endpoints", "192.0.2.1:2379", "flag --etcd-endpoints: '192.0.2.1:2379' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated" },
        new object[] { "etcd-endpoints", "unix:///run/etcd.sock", "flag --etcd-endpoints: 'unix:///run/etcd.sock' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated" },
        new object[] { "etcd-endpoints", "http://:2379", "flag --etcd-endpoints: 'http://:2379' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated" },
        new object[] { "etcd-endpoints", "http://192.0.2.1:2379,https://192.0.2.2:2379", "flag --etcd-endpoints: the endpoints mix http:// and https://; use one scheme for the whole cluster" },
        new object[] { "etcd-cafile", Pem, "TLS files were given but the endpoints (http://127.0.0.1:2379, from the default) use http://; use https:// endpoints" },
        new object[] { "etcd-username", "overlay", "etcd user 'overlay' needs a password: pass --etcd-password or set OVERLAYD_ETCD_PASSWORD" },
    ];

    [TestCaseSource(nameof(BadSettings))]
    public void A_bad_setting_is_one_problem_naming_the_flag_and_what_is_valid(string flag, string value, string problem)
    {
        ResolvedEtcdFlags resolved = Resolve(new() { [flag] = value });

        Assert.That(resolved.Problems, Is.EqualTo(new[] { problem }));
        Assert.That(resolved.Options, Is.Null);
        Assert.That(resolved.IsValid, Is.False);
    }

    [Test]
    public void A_bad_environment_variable_is_named_in_the_problem()
    {
        ResolvedEtcdFlags resolved = Resolve([], new() { ["FLANNELD_ETCD_PREFIX"] = "coreos.com" });

        Assert.That(resolved.Problems, Is.EqualTo(new[] { "environment variable FLANNELD_ETCD_PREFIX: 'coreos.com' is not an etcd prefix; give one such as /coreos.com/network" }));
    }

    [Test]
    public void A_missing_tls_file_is_named_with_its_source()
    {
        ResolvedEtcdFlags resolved = Resolve(new() { ["etcd-endpoints"] = "https://192.0.2.1:2379" }, new() { ["OVERLAYD_ETCD_CAFILE"] = "/nonexistent/ca.pem" });

        Assert.That(resolved.Problems, Is.EqualTo(new[] { "environment variable OVERLAYD_ETCD_CAFILE: file '/nonexistent/ca.pem' does not exist; give the path of a PEM file" }));
    }

    [TestCase("etcd-certfile", ClientPem)]
    [TestCase("etcd-keyfile", KeyPem)]
    public void A_client_certificate_needs_both_files(string flag, string file)
    {
        ResolvedEtcdFlags resolved = Resolve(new() { ["etcd-endpoints"] = "https://192.0.2.1:2379", [flag] = file });

        Assert.That(resolved.Problems, Is.EqualTo(new[] { "a client certificate needs both --etcd-certfile and --etcd-keyfile (or their OVERLAYD_/FLANNELD_ variables)" }));
    }

    [Test]
    public void Every_problem_is_listed_in_flag_order()
    {
        ResolvedEtcdFlags resolved = Resolve(new()
        {
            ["etcd-username"] = "overlay",
            ["etcd-certfile"] = "/nonexistent/client.pem",
            ["etcd-prefix"] = "x",
            ["etcd-endpoints"] = "https://192.0.2.1:2379",
        });

        Assert.That(resolved.Problems, Is.EqualTo(new[]
        {
            "flag --etcd-prefix: 'x' is not an etcd prefix; give one such as /coreos.com/network",
            "flag --etcd-certfile: file '/nonexistent/client.pem' does not exist; give the path of a PEM file",
            "a client certificate needs both --etcd-certfile and --etcd-keyfile (or their OVERLAYD_/FLANNELD_ variables)",
            "etcd user 'overlay' needs a password: pass --etcd-password or set OVERLAYD_ETCD_PASSWORD",
        }));
    }

    [Test]
    public void A_full_tls_setting_is_accepted()
    {
        ResolvedEtcdFlags resolved = Resolve(new()
        {
            ["etcd-endpoints"] = "https://192.0.2.1:2379,https://etcd.example:2379",
            ["etcd-cafile"] = Pem,
            ["etcd-certfile"] = ClientPem,
            ["etcd-keyfile"] = KeyPem,
        });

        Assert.That(resolved.Problems, Is.Empty);
        Assert.That((resolved.Options!.CaFile, resolved.Options.CertFile, resolved.Options.KeyFile), Is.EqualTo((Pem, ClientPem, KeyPem)));
    }

    [Test]
    public void Options_built_in_code_are_checked_in_the_same_words()
    {
        Assert.That(EtcdFlags.Check(new EtcdOptions()), Is.Empty);
        Assert.That(EtcdFlags.Check(new EtcdOptions { Endpoints = ["http://192.0.2.1:2379", "https://192.0.2.2:2379"] }),
            Is.EqualTo(new[] { "EtcdOptions.Endpoints: the endpoints mix http:// and https://; use one scheme for the whole cluster" }));
        Assert.That(EtcdFlags.Check(new EtcdOptions { Endpoints = [] }),
            Is.EqualTo(new[] { "EtcdOptions.Endpoints is empty: give at least one endpoint such as http://127.0.0.1:2379" }));
        Assert.That(EtcdFlags.Check(new EtcdOptions { Prefix = "coreos.com" }),
            Is.EqualTo(new[] { "'coreos.com' is not an etcd prefix; give one such as /coreos.com/network" }));
    }
}
