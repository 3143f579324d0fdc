using Overlay.Cli.Commands;

namespace Overlay.Cli.Tests.Parsing;

public sealed class CommandLineTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Test]
    public void Flags_may_come_before_between_and_after_the_command_words()
    {
        ParsedCommandLine line = CommandLine.Parse(["--etcd-prefix=/a", "leases", "-o", "json", "get", "198.18.34.0/24", "--etcd-endpoints", "http://192.0.2.1:2379"]);

        Assert.That(line.Command!.Path, Is.EqualTo("leases get"));
        Assert.That(line.Arguments, Is.EqualTo(new[] { "198.18.34.0/24" }));
        Assert.That(line.Value("output"), Is.EqualTo("json"));
        Assert.That(line.Value("etcd-prefix"), Is.EqualTo("/a"));
        Assert.That(line.Value("etcd-endpoints"), Is.EqualTo("http://192.0.2.1:2379"));
    }

    [TestCase("-ojson")]
    [TestCase("-o=json")]
    [TestCase("--output=json")]
    [TestCase("-output=json")]
    public void The_output_flag_takes_every_usual_spelling(string flag)
    {
        Assert.That(CommandLine.Parse(["leases", "list", flag]).Value("output"), Is.EqualTo("json"));
    }

    [Test]
    public void A_switch_alone_means_true_and_takes_an_explicit_value()
    {
        Assert.That(CommandLine.Parse(["leases", "release", "198.18.34.0/24", "-y"]).Switch("yes"), Is.True);
        Assert.That(CommandLine.Parse(["leases", "release", "198.18.34.0/24", "--yes=false"]).Switch("yes"), Is.False);
    }

    [Test]
    public void Double_dash_ends_the_flags()
    {
        ParsedCommandLine line = CommandLine.Parse(["config", "validate", "--", "-"]);
        Assert.That(line.Arguments, Is.EqualTo(new[] { "-" }));
    }

    [TestCase(new[] { "leases" }, "'leases' needs a subcommand: list, get, watch, reserve, release, gc")]
    [TestCase(new[] { "leases", "lst" }, "unknown command 'leases lst'")]
    [TestCase(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [TestCase(new[] { "leases", "get" }, "'leases get' needs SUBNET")]
    [TestCase(new[] { "leases", "list", "extra" }, "'leases list' takes no arguments, but got 'extra'")]
    [TestCase(new[] { "leases", "list", "--apply" }, "flag --apply is not valid for 'leases list' (it is for 'leases gc')")]
    [TestCase(new[] { "leases", "list", "-o", "yaml" }, "'yaml' is not a format of 'leases list'; use one of: table, wide, json")]
    [TestCase(new[] { "leases", "list", "--etcd-endpoint=x" }, "unknown flag --etcd-endpoint (did you mean --etcd-endpoints?)")]
    [TestCase(new[] { "leases", "list", "--etcd-prefix" }, "flag --etcd-prefix needs a value")]
    [TestCase(new[] { "leases", "release", "198.18.34.0/24", "--yes=maybe" }, "flag --yes: 'maybe' is not valid; give true or false")]
    [TestCase(new string[0], "no command given")]
    public void Usage_errors_name_what_is_wrong_and_what_is_valid(string[] args, string message)
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(args));
        Assert.That(error!.Message, Does.Contain(message));
    }

    [Test]
    public void Help_for_a_command_lists_its_flags_and_an_example()
    {
        ParsedCommandLine line = CommandLine.Parse(["leases", "gc", "--help"]);

        string help = CommandLine.HelpText(line.HelpTopic);

        Assert.That(line.Command, Is.Null);
        Assert.That(help, Does.Contain("overlayctl leases gc [SUBNET...] [flags]"));
        Assert.That(help, Does.Contain("--apply"));
        Assert.That(help, Does.Contain("--etcd-endpoints=URLS"));
    }

    [Test]
    public void Connection_defaults_are_overlayds()
    {
        Connection connection = Connection.Resolve(CommandLine.Parse(["leases", "list"]), NoEnvironment);

        Assert.That(connection.Options.Endpoints, Is.EqualTo(new[] { "http://127.0.0.1:2379" }));
        Assert.That(connection.Options.Prefix, Is.EqualTo("/coreos.com/network"));
        Assert.That(connection.EndpointsSource, Is.EqualTo("the default"));
    }

    [Test]
    public void OVERLAYD_variables_win_over_FLANNELD_ones_and_the_command_line_wins_over_both()
    {
        var environment = new Dictionary<string, string?>
        {
            ["FLANNELD_ETCD_ENDPOINTS"] = "http://192.0.2.1:2379",
            ["OVERLAYD_ETCD_ENDPOINTS"] = "http://192.0.2.2:2379",
            ["FLANNELD_ETCD_PREFIX"] = "/flannel",
            ["FLANNELD_ETCD_USERNAME"] = "admin",
            ["OVERLAYD_ETCD_PASSWORD"] = "secret",
        };

        Connection fromEnvironment = Connection.Resolve(CommandLine.Parse(["leases", "list"]), environment);
        Connection fromFlag = Connection.Resolve(CommandLine.Parse(["leases", "list", "--etcd-endpoints=http://192.0.2.3:2379,http://192.0.2.4:2379"]), environment);

        Assert.That(fromEnvironment.Options.Endpoints, Is.EqualTo(new[] { "http://192.0.2.2:2379" }));
        Assert.That(fromEnvironment.EndpointsSource, Is.EqualTo("environment variable OVERLAYD_ETCD_ENDPOINTS"));
        Assert.That(fromEnvironment.Options.Prefix, Is.EqualTo("/flannel"));
        Assert.That(fromEnvironment.Options.Username, Is.EqualTo("admin"));
        Assert.That(fromEnvironment.Options.Password, Is.EqualTo("secret"));
        Assert.That(fromFlag.Options.Endpoints, Is.EqualTo(new[] { "http://192.0.2.3:2379", "http://192.0.2.4:2379" }));
        Assert.That(fromFlag.EndpointsSource, Is.EqualTo("flag --etcd-endpoints"));
    }

    [TestCase("--etcd-endpoints=192.0.2.1:2379", "flag --etcd-endpoints: '192.0.2.1:2379' is not an endpoint URL")]
    [TestCase("--etcd-endpoints=http://192.0.2.1:2379,https://192.0.2.2:2379", "mix http:// and https://")]
    [TestCase("--etcd-prefix=coreos.com", "'coreos.com' is not an etcd prefix")]
    [TestCase("--etcd-cafile=/nonexistent/ca.pem", "flag --etcd-cafile: file '/nonexistent/ca.pem' does not exist")]
    [TestCase("--etcd-username=admin", "etcd user 'admin' needs a password")]
    [TestCase("--command-timeout=soon", "flag --command-timeout: 'soon' is not a duration")]
    public void Bad_connection_settings_are_usage_errors(string flag, string message)
    {
        var error = Assert.Throws<UsageException>(() => Connection.Resolve(CommandLine.Parse(["leases", "list", flag]), NoEnvironment));
        Assert.That(error!.Message, Does.Contain(message));
    }

    [Test]
    public void A_bad_environment_variable_is_named_in_the_error()
    {
        var environment = new Dictionary<string, string?> { ["FLANNELD_ETCD_ENDPOINTS"] = "nonsense" };
        var error = Assert.Throws<UsageException>(() => Connection.Resolve(CommandLine.Parse(["leases", "list"]), environment));
        Assert.That(error!.Message, Does.StartWith("environment variable FLANNELD_ETCD_ENDPOINTS: 'nonsense' is not an endpoint URL"));
    }
}
