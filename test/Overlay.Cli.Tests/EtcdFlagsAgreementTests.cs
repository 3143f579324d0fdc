using Overlay.Leases;
using Overlay.Leases.Etcd;
using Overlay.TestKit;

namespace Overlay.Cli.Tests;

/// <summary>
/// overlayd and overlayctl take the same etcd flags from one definition (<see cref="EtcdFlags"/>): the built
/// executables, given the same bad setting, refuse it with the same message and exit status 2.
/// </summary>
public sealed class EtcdFlagsAgreementTests
{
    private static readonly string ExistingPem = Path.Combine(AppContext.BaseDirectory, "etcd-flags-agreement.pem");

    // Real certificates, copied here from a CertificateAuthority before the tests: the contents are checked too.
    private static readonly string ClientPem = Path.Combine(AppContext.BaseDirectory, "etcd-flags-agreement-client.pem");
    private static readonly string ClientKeyPem = Path.Combine(AppContext.BaseDirectory, "etcd-flags-agreement-client-key.pem");
    private static readonly string OtherKeyPem = Path.Combine(AppContext.BaseDirectory, "etcd-flags-agreement-other-key.pem");

    /// <summary>One bad setting: the arguments, the environment variables (NAME=value), the message both must print.</summary>
    public sealed record BadSetting(string Name, string[] Args, string[] Environment, string Message)
    {
        public override string ToString() => Name;
    }

    public static IEnumerable<BadSetting> BadSettings()
    {
        const string https = "--etcd-endpoints=https://192.0.2.1:2379";
        yield return new("prefix without a leading slash", ["--etcd-prefix=coreos.com/network"], [],
            "flag --etcd-prefix: 'coreos.com/network' is not an etcd prefix; give one such as /coreos.com/network");
        yield return new("empty prefix", ["--etcd-prefix="], [],
            "flag --etcd-prefix: '' is not an etcd prefix; give one such as /coreos.com/network");
        yield return new("mixed schemes", ["--etcd-endpoints=http://192.0.2.1:2379,https://192.0.2.2:2379"], [],
            "flag --etcd-endpoints: the endpoints mix http:// and https://; use one scheme for the whole cluster");
        yield return new("empty endpoint list", ["--etcd-endpoints= , "], [],
            "flag --etcd-endpoints is empty: give at least one endpoint such as http://127.0.0.1:2379");
        yield return new("endpoint without a scheme", ["--etcd-endpoints=192.0.2.1:2379"], [],
            "flag --etcd-endpoints: '192.0.2.1:2379' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated");
        yield return new("endpoint with another scheme", ["--etcd-endpoints=unix:///run/etcd.sock"], [],
            "flag --etcd-endpoints: 'unix:///run/etcd.sock' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated");
        yield return new("endpoint without a host", ["--etcd-endpoints=http://:2379"], [],
            "flag --etcd-endpoints: 'http://:2379' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated");
        yield return new("certificate without key", [https, "--etcd-certfile=" + ExistingPem], [],
            "a client certificate needs both --etcd-certfile and --etcd-keyfile (or their OVERLAYD_/FLANNELD_ variables)");
        yield return new("key without certificate", [https, "--etcd-keyfile=" + ExistingPem], [],
            "a client certificate needs both --etcd-certfile and --etcd-keyfile (or their OVERLAYD_/FLANNELD_ variables)");
        yield return new("missing CA file", [https, "--etcd-cafile=/nonexistent/ca.pem"], [],
            "flag --etcd-cafile: file '/nonexistent/ca.pem' does not exist; give the path of a PEM file");
        yield return new("missing key file", [https, "--etcd-certfile=" + ExistingPem, "--etcd-keyfile=/nonexistent/key.pem"], [],
            "flag --etcd-keyfile: file '/nonexistent/key.pem' does not exist; give the path of a PEM file");
        yield return new("TLS files with http endpoints", ["--etcd-cafile=" + ExistingPem], [],
            "TLS files were given but the endpoints (http://127.0.0.1:2379, from the default) use http://; use https:// endpoints");
        yield return new("CA file that is not PEM", [https, "--etcd-cafile=" + ExistingPem], [],
            $"flag --etcd-cafile: '{ExistingPem}' holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); give the certificate of the CA that signed etcd's server certificates, in PEM form (-----BEGIN CERTIFICATE-----)");
        yield return new("CA file that is not PEM, from FLANNELD_", [https], ["FLANNELD_ETCD_CAFILE=" + ExistingPem],
            $"environment variable FLANNELD_ETCD_CAFILE: '{ExistingPem}' holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); give the certificate of the CA that signed etcd's server certificates, in PEM form (-----BEGIN CERTIFICATE-----)");
        yield return new("client certificate that is not PEM", [https, "--etcd-certfile=" + ExistingPem, "--etcd-keyfile=" + ClientKeyPem], [],
            $"flag --etcd-certfile: '{ExistingPem}' holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); give the client certificate in PEM form (-----BEGIN CERTIFICATE-----)");
        yield return new("certificate given as the key", [https, "--etcd-certfile=" + ClientPem, "--etcd-keyfile=" + ClientPem], [],
            $"flag --etcd-keyfile: '{ClientPem}' holds no PEM private key (no -----BEGIN PRIVATE KEY----- block); give the client certificate's private key in PEM form");
        yield return new("key of another certificate", [https, "--etcd-certfile=" + ClientPem, "--etcd-keyfile=" + OtherKeyPem], [],
            $"flag --etcd-keyfile: the key in '{OtherKeyPem}' does not belong to the certificate in '{ClientPem}' (flag --etcd-certfile): The provided key does not match the public key for this certificate; give the key the certificate was issued for");
        yield return new("user without password", ["--etcd-username=overlay"], [],
            "etcd user 'overlay' needs a password: pass --etcd-password or set OVERLAYD_ETCD_PASSWORD");
        yield return new("prefix from FLANNELD_ without a leading slash", [], ["FLANNELD_ETCD_PREFIX=coreos.com"],
            "environment variable FLANNELD_ETCD_PREFIX: 'coreos.com' is not an etcd prefix; give one such as /coreos.com/network");
        yield return new("mixed schemes from OVERLAYD_ over good FLANNELD_ ones", [], ["FLANNELD_ETCD_ENDPOINTS=http://192.0.2.1:2379", "OVERLAYD_ETCD_ENDPOINTS=http://192.0.2.1:2379,https://192.0.2.2:2379"],
            "environment variable OVERLAYD_ETCD_ENDPOINTS: the endpoints mix http:// and https://; use one scheme for the whole cluster");
        yield return new("user from the environment without password", [], ["OVERLAYD_ETCD_USERNAME=overlay"],
            "etcd user 'overlay' needs a password: pass --etcd-password or set OVERLAYD_ETCD_PASSWORD");
    }

    [OneTimeSetUp]
    public void WritePem()
    {
        File.WriteAllText(ExistingPem, "not a PEM file: when another setting is wrong, only its existence is checked\n");
        using CertificateAuthority authority = CertificateAuthority.Create();
        CertificateFiles client = authority.IssueClient("overlay-client");
        File.Copy(client.CertFile, ClientPem, overwrite: true);
        File.Copy(client.KeyFile, ClientKeyPem, overwrite: true);
        File.Copy(authority.IssueClient("someone-else").KeyFile, OtherKeyPem, overwrite: true);
    }

    [OneTimeTearDown]
    public void DeletePem()
    {
        foreach (string file in new[] { ExistingPem, ClientPem, ClientKeyPem, OtherKeyPem })
        {
            File.Delete(file);
        }
    }

    [TestCaseSource(nameof(BadSettings))]
    public async Task Both_programs_refuse_a_bad_etcd_setting_with_the_same_message_and_exit_2(BadSetting setting)
    {
        Task<CommandResult> overlayd = RunAsync(setting.Environment, [Executable("overlayd"), .. setting.Args]);
        Task<CommandResult> overlayctl = RunAsync(setting.Environment, [Executable("overlayctl"), "leases", "list", .. setting.Args]);
        CommandResult daemon = await overlayd;
        CommandResult cli = await overlayctl;

        Assert.That((daemon.ExitCode, FirstLine(daemon.StdErr)), Is.EqualTo((2, "overlayd: " + setting.Message)), daemon.StdErr);
        Assert.That((cli.ExitCode, FirstLine(cli.StdErr)), Is.EqualTo((2, "error: " + setting.Message)), cli.StdErr);
        Assert.That(cli.StdErr, Does.Contain("See 'overlayctl leases list --help' for usage."));
    }

    [Test]
    public async Task Both_programs_list_every_etcd_flag_with_the_same_help()
    {
        CommandResult daemon = await RunAsync([], [Executable("overlayd"), "--help"]);
        CommandResult cli = await RunAsync([], [Executable("overlayctl"), "--help"]);

        Assert.That((daemon.ExitCode, cli.ExitCode), Is.EqualTo((0, 0)));
        foreach (EtcdFlag flag in EtcdFlags.All)
        {
            Assert.That(daemon.StdOut, Does.Match($@"\n  --{flag.Name}=VALUE +{Escape(flag.Help)}\n"), flag.Name);
            Assert.That(cli.StdOut, Does.Match($@"\n +--{flag.Name} <{flag.ValueName}> +{Escape(flag.Help)}\n"), flag.Name);
        }
    }

    private static string Executable(string name)
    {
        string path = Path.Combine(AppContext.BaseDirectory, name + ".dll");
        Assert.That(File.Exists(path), Is.True, $"{path} is missing");
        return path;
    }

    /// <summary>`dotnet program.dll args` with extra variables, through env(1) so the rest of the environment stays.</summary>
    private static Task<CommandResult> RunAsync(string[] environment, string[] command) =>
        Shell.RunAsync("env", [.. environment, "dotnet", .. command], TimeSpan.FromSeconds(60));

    private static string FirstLine(string text) => text.Split('\n')[0];

    private static string Escape(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
