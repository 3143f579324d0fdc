using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using Overlay.Cli.Commands;
using Overlay.Core.Text;

namespace Overlay.Cli;

/// <summary>A usage error: exit status 2, and a message naming the flag or argument and what is valid.</summary>
public sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The command whose help the message should point at, if one was recognised.</summary>
    public string? CommandPath { get; init; }
}

/// <summary>What a command does, given the run's context.</summary>
internal delegate Task<int> CommandHandler(CliContext context, CancellationToken ct);

/// <summary>
/// overlayctl's command tree on System.CommandLine: <c>overlayctl GROUP VERB [ARGS] [flags]</c>, in the style
/// of kubectl and etcdctl. The library parses, writes help, suggests corrections for typos and answers shell
/// completion (<c>[suggest]</c>); <see cref="OverlayCtl"/> runs the command and maps errors to exit statuses.
/// </summary>
internal static class CommandLine
{
    /// <summary>'@' is an ordinary character in overlayctl's arguments, not a response file.</summary>
    public static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    private static readonly Dictionary<Command, string> Examples = [];

    private static readonly Lazy<RootCommand> Tree = new(Build);

    public static RootCommand Root => Tree.Value;

    public static ParseResult Parse(IReadOnlyList<string> args) => Root.Parse(args, Parsing);

    /// <summary>The example a command's help ends with, if it has one.</summary>
    public static string? ExampleOf(Command command) => Examples.GetValueOrDefault(command);

    /// <summary>The words that name a command, without the program: <c>leases get</c>.</summary>
    public static string PathOf(Command command)
    {
        var words = new List<string>();
        for (Command? c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            words.Insert(0, c.Name);
        }

        return string.Join(" ", words);
    }

    /// <summary>Go-style durations: 24h, 90m, 30s, 1h30m, 500ms.</summary>
    public static TimeSpan ParseDuration(string flag, string value, TimeSpan minimum)
    {
        if (!FlagValues.TryParseGoDuration(value, out TimeSpan total, out string problem))
        {
            throw new UsageException($"flag --{flag}: '{value}' {problem}; give e.g. 60m, 1h30m or 30s");
        }

        if (total < minimum)
        {
            throw new UsageException($"flag --{flag}: '{value}' is too short; give at least {Overlay.Cli.Output.HumanDuration.Format(minimum)}");
        }

        return total;
    }

    private static RootCommand Build()
    {
        var root = new RootCommand(
            "overlayctl: the admin CLI for Overlay's (and flannel's) leases, reservations, network config and services in etcd.\n"
            + "Exit status: 0 done, 1 the operation failed, 2 usage error. See docs/cli.md.");
        if (root.Name != "overlayctl")
        {
            // Completion requests carry the command line as typed, starting with 'overlayctl'.
            root.Aliases.Add("overlayctl");
        }

        foreach (Option option in root.Options.OfType<VersionOption>())
        {
            option.Action = new PrintVersion();
        }

        foreach (HelpOption option in root.Options.OfType<HelpOption>())
        {
            option.Action = new HelpWithExample((SynchronousCommandLineAction)option.Action!);
        }

        EtcdFlagOptions.AddTo(root);
        root.SetAction(_ => Refuse(new UsageException("no command given; try 'overlayctl leases list', or see 'overlayctl --help'")));

        root.Subcommands.Add(Group("leases", "leases and reservations under <prefix>/subnets/", ["lease"],
            Leaf("list", "list every lease and reservation, sorted by subnet", "overlayctl leases list -o wide", LeasesCommands.ListAsync,
                Output("leases list", "table", "wide", "json")),
            Leaf("get", "show one lease", "overlayctl leases get 198.18.34.0/24 -o json", LeasesCommands.GetAsync,
                Subnet(), Output("leases get", "table", "wide", "json")),
            Leaf("watch", "print one line per lease added, changed or removed, until interrupted", "overlayctl leases watch -o json", LeasesCommands.WatchAsync,
                Output("leases watch", "table", "json"), Flags.WatchOnly),
            Leaf("reserve", "reserve a subnet for a node (a lease that never expires)", "overlayctl leases reserve 198.18.34.0/24 --public-ip 192.0.2.11", LeasesCommands.ReserveAsync,
                Subnet(), Flags.PublicIP, Flags.PublicIPv6, Flags.VtepMac, Flags.Owner, Output("leases reserve", "table", "json")),
            Leaf("release", "delete a lease or reservation (asks unless --yes)", "overlayctl leases release 198.18.34.0/24 --yes", LeasesCommands.ReleaseAsync,
                Subnet(), Flags.Yes),
            Leaf("gc", "list leases that look abandoned; remove them with --apply", "overlayctl leases gc --apply", LeasesCommands.GcAsync,
                new Argument<string[]>("SUBNET") { Arity = ArgumentArity.ZeroOrMore, Description = "subnets to remove whatever their state" },
                Flags.Apply, Flags.RenewMargin, Output("leases gc", "table", "json"))));

        root.Subcommands.Add(Group("config", "the network config at <prefix>/config", [],
            Leaf("get", "print the network config stored in etcd", "overlayctl config get", ConfigCommands.GetAsync,
                Output("config get", "raw", "json")),
            Leaf("set", "validate a network config and store it (refuses one that strands leases unless --force)", "overlayctl config set network.json", ConfigCommands.SetAsync,
                ConfigFile(), Flags.Force),
            Leaf("validate", "check a network config file without touching etcd", "overlayctl config validate network.json", ConfigCommands.ValidateAsync,
                ConfigFile(), Output("config validate", "table", "json"))));

        root.Subcommands.Add(Leaf("status", "the network, subnets used and free, leases close to expiry, reservations", "overlayctl status", StatusCommand.RunAsync,
            Output("status", "table", "json"), Flags.RenewMargin));
        root.Subcommands.Add(NodeCommands.NodeGroup());
        root.Subcommands.Add(NodeCommands.TraceCommand());
        root.Subcommands.Add(ServiceCommands.Group());
        root.Subcommands.Add(Pods.PodFlags.Group());
        root.Subcommands.Add(Leaf("version", "print overlayctl's version", "overlayctl version", PrintVersion.RunAsync));
        root.Subcommands.Add(Completion.Command());
        return root;
    }

    /// <summary>A command group: without a verb it is a usage error listing the verbs.</summary>
    internal static Command Group(string name, string description, string[] aliases, params Command[] verbs)
    {
        var group = new Command(name, $"{description}: {string.Join(", ", verbs.Select(v => v.Name))}");
        foreach (string alias in aliases)
        {
            group.Aliases.Add(alias);
        }

        foreach (Command verb in verbs)
        {
            group.Subcommands.Add(verb);
        }

        group.SetAction(_ => Refuse(new UsageException($"'{name}' needs a subcommand: {string.Join(", ", verbs.Select(v => v.Name))}") { CommandPath = name }));
        return group;
    }

    private static int Refuse(UsageException e) => throw e;

    /// <summary>A command that runs: its description ends with an example; arguments and flags as given.</summary>
    internal static Command Leaf(string name, string description, string example, CommandHandler handler, params Symbol[] symbols)
    {
        var command = new Command(name, description);
        Examples.Add(command, example);
        foreach (Symbol symbol in symbols)
        {
            switch (symbol)
            {
                case Argument argument:
                    command.Arguments.Add(argument);
                    break;
                case Option option:
                    command.Options.Add(option);
                    break;
                default:
                    throw new ArgumentException($"{symbol} is neither an argument nor an option", nameof(symbols));
            }
        }

        command.SetAction((parse, ct) => OverlayCtl.RunCommandAsync(parse, handler, ct));
        return command;
    }

    /// <summary>-o/--output with the command's formats; the first is the default.</summary>
    internal static Option<string> Output(string command, params string[] formats)
    {
        var output = new Option<string>("--output", "-o")
        {
            HelpName = "FORMAT",
            Description = $"output format: {string.Join(", ", formats)}",
            DefaultValueFactory = _ => formats[0],
        };
        output.CompletionSources.Add(formats);
        output.Validators.Add(result =>
        {
            string? format = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (format is not null && format.StartsWith("utput", StringComparison.Ordinal))
            {
                // Go's single-dash "-output=json": the parser reads it as -o with the value "utput=json".
                result.AddError($"flag -output{format[5..]}: did you mean --output{format[5..]}? long flags take two dashes");
            }
            else if (format is not null && !formats.Contains(format))
            {
                result.AddError($"flag --output: '{format}' is not a format of '{command}'; use one of: {string.Join(", ", formats)}");
            }
        });
        return output;
    }

    private static Argument<string> Subnet() => new("SUBNET")
    {
        Description = "198.18.34.0/24, 198.18.34.0-24 or 198.18.34.0-24&2001:db8:0:22::-64",
    };

    private static Argument<string> ConfigFile() => new("FILE")
    {
        HelpName = "FILE|-",
        Description = "a network config file, or - for stdin",
    };

    /// <summary>The flags of the lease and config commands (the pod group's are in <see cref="Pods.PodFlags"/>).</summary>
    internal static class Flags
    {
        public static readonly Option<bool> Yes = new("--yes", "-y") { Description = "do not ask for confirmation" };

        public static readonly Option<bool> Apply = new("--apply") { Description = "remove the leases listed (without it, gc only lists them)" };

        public static readonly Option<bool> Force = new("--force") { Description = "write a config even though it strands existing leases" };

        public static readonly Option<bool> WatchOnly = new("--watch-only") { Description = "print only changes, not the leases present at the start" };

        public static readonly Option<string> PublicIP = new("--public-ip") { HelpName = "IP", Description = "IPv4 address of the node the subnet is reserved for" };

        public static readonly Option<string> PublicIPv6 = new("--public-ipv6") { HelpName = "IP", Description = "IPv6 address of the node (dual stack)" };

        public static readonly Option<string> VtepMac = new("--vtep-mac") { HelpName = "MAC", Description = "the node's VTEP MAC address, e.g. 0e:2a:11:22:33:44" };

        public static readonly Option<string> Owner = new("--owner") { HelpName = "NAME", Description = "the node's Overlay owner id (overlayd --node-name); default: none, matched by public IP" };

        public static readonly Option<string> RenewMargin = new("--renew-margin")
        {
            HelpName = "DURATION",
            Description = "leases with less time left than this have missed their renewal (default 60m, as flannel's --subnet-lease-renew-margin)",
        };
    }

    /// <summary>The library's help, then the command's example.</summary>
    private sealed class HelpWithExample(SynchronousCommandLineAction help) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            int status = help.Invoke(parseResult);
            if (Examples.TryGetValue(parseResult.CommandResult.Command, out string? example))
            {
                parseResult.InvocationConfiguration.Output.Write($"Example:\n  {example}\n\n");
            }

            return status;
        }
    }

    /// <summary><c>overlayctl version</c> and <c>--version</c> print the same line.</summary>
    private sealed class PrintVersion : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public static Task<int> RunAsync(CliContext c, CancellationToken ct)
        {
            c.Out.Write(Line);
            return Task.FromResult(OverlayCtl.Done);
        }

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.Write(Line);
            return OverlayCtl.Done;
        }

        private static string Line => $"overlayctl {OverlayCtl.Version}\n";
    }
}
