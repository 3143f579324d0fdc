using System.CommandLine;
using Overlay.Cli.Commands;

namespace Overlay.Cli.Tests.Parsing;

public sealed class CommandLineTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private static Connection Resolve(string[] args, IReadOnlyDictionary<string, string?> environment) =>
        EtcdFlagOptions.Resolve(CommandLine.Parse(args), environment);

    [Test]
    public void Global_flags_may_come_anywhere_and_a_commands_flags_after_its_words()
    {
        ParseResult parse = CommandLine.Parse(["--etcd-prefix=/a", "leases", "--etcd-endpoints", "http://192.0.2.1:2379", "get", "198.18.34.0/24", "-o", "json"]);
        Connection connection = EtcdFlagOptions.Resolve(parse, NoEnvironment);

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(CommandLine.PathOf(parse.CommandResult.Command), Is.EqualTo("leases get"));
        Assert.That(parse.CommandResult.Tokens.Select(t => t.Value), Does.Contain("198.18.34.0/24"));
        Assert.That(connection.Options.Prefix, Is.EqualTo("/a"));
        Assert.That(connection.Options.Endpoints, Is.EqualTo(new[] { "http://192.0.2.1:2379" }));
    }

    [TestCase("-ojson")]
    [TestCase("-o=json")]
    [TestCase("--output=json")]
    [TestCase("-o json")]
    public async Task The_output_flag_takes_the_usual_spellings(string flag)
    {
        CliResult result = await Cli.RunAsync(["config", "validate", "/nonexistent/network.json", .. flag.Split(' ')]);

        // The format is accepted (no usage error); the missing file then fails the command.
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Err, Does.Not.Contain("usage"));
    }

    [Test]
    public void A_switch_alone_means_true_and_takes_an_explicit_value()
    {
        Assert.That(CommandLine.Parse(["leases", "release", "198.18.34.0/24", "-y"]).GetValue(CommandLine.Flags.Yes), Is.True);
        Assert.That(CommandLine.Parse(["leases", "release", "198.18.34.0/24", "--yes=false"]).GetValue(CommandLine.Flags.Yes), Is.False);
    }

    [Test]
    public void Double_dash_ends_the_flags()
    {
        ParseResult parse = CommandLine.Parse(["config", "validate", "--", "-o"]);

        Assert.That(parse.Errors, Is.Empty);
        Assert.That(parse.CommandResult.Tokens.Select(t => t.Value), Is.EqualTo(new[] { "-o" }));
    }

    [Test]
    public void Lease_and_pods_are_other_spellings_of_the_groups()
    {
        Assert.That(CommandLine.PathOf(CommandLine.Parse(["lease", "list"]).CommandResult.Command), Is.EqualTo("leases list"));
        Assert.That(CommandLine.PathOf(CommandLine.Parse(["pods", "list"]).CommandResult.Command), Is.EqualTo("pod list"));
    }

    [TestCase(new[] { "leases" }, "error: 'leases' needs a subcommand: list, get, watch, reserve, release, gc\nSee 'overlayctl leases --help' for usage.\n")]
    [TestCase(new[] { "leases", "lst" }, "error: Unrecognized command or argument 'lst'.\n'lst' was not matched. Did you mean one of the following?\nlist\nSee 'overlayctl leases --help' for usage.\n")]
    [TestCase(new[] { "frobnicate" }, "error: Unrecognized command or argument 'frobnicate'.\nSee 'overlayctl --help' for usage.\n")]
    [TestCase(new[] { "leases", "get" }, "error: Required argument missing for command: 'get'.\nSee 'overlayctl leases get --help' for usage.\n")]
    [TestCase(new[] { "leases", "list", "extra" }, "error: Unrecognized command or argument 'extra'.\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "leases", "list", "--apply" }, "error: Unrecognized command or argument '--apply'.\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "leases", "list", "--ouptut" }, "error: Unrecognized command or argument '--ouptut'.\n'--ouptut' was not matched. Did you mean one of the following?\n--output\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "leases", "list", "-o", "yaml" }, "error: flag --output: 'yaml' is not a format of 'leases list'; use one of: table, wide, json\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "leases", "list", "--etcd-prefix" }, "error: flag --etcd-prefix: '' is not an etcd prefix; give one such as /coreos.com/network\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "-etcd-prefix=/x", "leases", "list" }, "error: Unrecognized command or argument '-etcd-prefix=/x'. (did you mean --etcd-prefix? long flags take two dashes)\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "leases", "list", "-output=json" }, "error: flag -output=json: did you mean --output=json? long flags take two dashes\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "leases", "-o", "json", "list" }, "error: Unrecognized command or argument '-o'. (-o is a flag of 'leases list': put it after 'leases list')\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "leases", "list", "--ouptut", "json" }, "error: Unrecognized command or argument '--ouptut'.\n'--ouptut' was not matched. Did you mean one of the following?\n--output\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "leases", "reserve", "198.18.9.0/24", "--publicip", "192.0.2.19" }, "error: Unrecognized command or argument '--publicip'.\n'--publicip' was not matched. Did you mean one of the following?\n--public-ip\nSee 'overlayctl leases reserve --help' for usage.\n")]
    [TestCase(new[] { "leases", "list", "--foo", "--foo" }, "error: Unrecognized command or argument '--foo'.\n'--foo' was not matched. Did you mean one of the following?\n-o\nSee 'overlayctl leases list --help' for usage.\n")]
    [TestCase(new[] { "completion", "fish" }, "error: Argument 'fish' not recognized. Must be one of:\n\t'bash'\n\t'zsh'\nSee 'overlayctl completion --help' for usage.\n")]
    [TestCase(new string[0], "error: no command given; try 'overlayctl leases list', or see 'overlayctl --help'\nSee 'overlayctl --help' for usage.\n")]
    public async Task Usage_errors_exit_2_naming_what_is_wrong_and_where_help_is(string[] args, string message)
    {
        CliResult result = await Cli.RunAsync(args);

        Assert.That((result.ExitCode, result.Out, result.Err), Is.EqualTo((2, "", message)));
    }

    [Test]
    public async Task Help_for_a_command_lists_its_arguments_flags_the_global_flags_and_an_example()
    {
        CliResult result = await Cli.RunAsync("leases", "gc", "--help");

        Assert.That((result.ExitCode, result.Err), Is.EqualTo((0, "")));
        Assert.That(result.Out, Does.Contain(" leases gc [<SUBNET>...] [options]"));
        Assert.That(result.Out, Does.Contain("  --apply "));
        Assert.That(result.Out, Does.Contain("  -o, --output <FORMAT> "));
        Assert.That(result.Out, Does.Contain("  --etcd-endpoints <URLS> "));
        Assert.That(result.Out, Does.EndWith("Example:\n  overlayctl leases gc --apply\n\n"));
    }

    [Test]
    public async Task Help_lists_the_commands_and_the_exit_statuses()
    {
        CliResult result = await Cli.RunAsync("--help");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Out, Does.Contain("Exit status: 0 done, 1 the operation failed, 2 usage error."));
        Assert.That(result.Out, Does.Contain("  lease, leases "));
        Assert.That(result.Out, Does.Contain("  completion <bash|zsh> "));
    }

    [Test]
    public async Task Version_and_dash_dash_version_print_the_same_line()
    {
        CliResult command = await Cli.RunAsync("version");
        CliResult flag = await Cli.RunAsync("--version");

        Assert.That((command.ExitCode, command.Out), Is.EqualTo((0, $"overlayctl {OverlayCtl.Version}\n")));
        Assert.That((flag.ExitCode, flag.Out), Is.EqualTo((0, command.Out)));
    }

    [Test]
    public void Connection_defaults_are_overlayds()
    {
        Connection connection = Resolve(["leases", "list"], NoEnvironment);

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

        Connection fromEnvironment = Resolve(["leases", "list"], environment);
        Connection fromFlag = Resolve(["leases", "list", "--etcd-endpoints=http://192.0.2.3:2379,http://192.0.2.4:2379"], environment);

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
        var error = Assert.Throws<UsageException>(() => Resolve(["leases", "list", flag], NoEnvironment));
        Assert.That(error!.Message, Does.Contain(message));
    }

    [Test]
    public async Task A_bad_connection_flag_exits_2_pointing_at_the_commands_help()
    {
        CliResult result = await Cli.RunAsync("leases", "list", "--etcd-prefix=coreos.com");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Err, Is.EqualTo("error: flag --etcd-prefix: 'coreos.com' is not an etcd prefix; give one such as /coreos.com/network\nSee 'overlayctl leases list --help' for usage.\n"));
    }

    [Test]
    public void A_bad_environment_variable_is_named_in_the_error()
    {
        var environment = new Dictionary<string, string?> { ["FLANNELD_ETCD_ENDPOINTS"] = "nonsense" };
        var error = Assert.Throws<UsageException>(() => Resolve(["leases", "list"], environment));
        Assert.That(error!.Message, Does.StartWith("environment variable FLANNELD_ETCD_ENDPOINTS: 'nonsense' is not an endpoint URL"));
    }
}
