using System.Globalization;
using System.Text;
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

internal enum FlagKind
{
    Value,
    Switch,
}

/// <summary>
/// One flag. <see cref="Global"/> flags are accepted by every command; connection flags also come from the
/// environment as <c>FLANNELD_&lt;FLAG&gt;</c> and <c>OVERLAYD_&lt;FLAG&gt;</c> (upper-cased, '-' → '_').
/// A <see cref="Repeatable"/> flag may be given several times; <see cref="ParsedCommandLine.Values"/> has them all.
/// </summary>
internal sealed record FlagSpec(string Name, char? Short, FlagKind Kind, string Help, string ValueName = "VALUE", bool Global = false, bool FromEnvironment = false, bool Repeatable = false)
{
    public string EnvironmentSuffix => Name.ToUpperInvariant().Replace('-', '_');

    public string Shown =>
        (Short is { } s ? $"-{s}, " : "    ") + (Kind == FlagKind.Switch ? $"--{Name}" : $"--{Name}={ValueName}");
}

/// <summary>One command: its words, its arguments, the flags it takes beyond the global ones.</summary>
internal sealed record CommandSpec(string Path, string Arguments, int MinArgs, int MaxArgs, string Summary, string[] Flags, string[] OutputFormats, string Example)
{
    public string Usage => $"overlayctl {Path}{(Arguments.Length > 0 ? " " + Arguments : "")} [flags]";
}

/// <summary>What the command line asked for: the command, its arguments and the flags given.</summary>
internal sealed record ParsedCommandLine(CommandSpec? Command, IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Flags, string? HelpTopic)
{
    /// <summary>Every value of a repeatable flag, in the order given.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Repeated { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    public bool Has(string flag) => Flags.ContainsKey(flag);

    public IReadOnlyList<string> Values(string flag) => Repeated.TryGetValue(flag, out IReadOnlyList<string>? values) ? values : [];

    public string? Value(string flag) => Flags.TryGetValue(flag, out string? value) ? value : null;

    /// <summary>A switch's value: true when given alone, else its parsed value.</summary>
    public bool Switch(string flag) => Flags.TryGetValue(flag, out string? value) && CommandLine.ParseBoolean(flag, value);
}

/// <summary>
/// overlayctl's command line, in the style of kubectl and etcdctl: <c>overlayctl GROUP VERB [ARGS] [flags]</c>,
/// flags anywhere as <c>--flag=value</c>, <c>--flag value</c>, <c>-o json</c>, <c>-ojson</c>, and Go's
/// single-dash <c>-flag</c>; a switch alone means true; <c>--</c> ends the flags.
/// </summary>
internal static class CommandLine
{
    public const string ConnectionHint = "--etcd-endpoints (or OVERLAYD_ETCD_ENDPOINTS / FLANNELD_ETCD_ENDPOINTS)";

    public static readonly FlagSpec[] Flags =
    [
        new("etcd-endpoints", null, FlagKind.Value, "comma-separated etcd endpoints (default http://127.0.0.1:2379)", "URLS", Global: true, FromEnvironment: true),
        new("etcd-prefix", null, FlagKind.Value, "etcd prefix (default /coreos.com/network)", "PREFIX", Global: true, FromEnvironment: true),
        new("etcd-cafile", null, FlagKind.Value, "CA file for etcd's TLS certificate", "FILE", Global: true, FromEnvironment: true),
        new("etcd-certfile", null, FlagKind.Value, "client certificate for etcd", "FILE", Global: true, FromEnvironment: true),
        new("etcd-keyfile", null, FlagKind.Value, "client key for etcd", "FILE", Global: true, FromEnvironment: true),
        new("etcd-username", null, FlagKind.Value, "etcd user name", "NAME", Global: true, FromEnvironment: true),
        new("etcd-password", null, FlagKind.Value, "etcd password", "PASSWORD", Global: true, FromEnvironment: true),
        new("command-timeout", null, FlagKind.Value, "time allowed for one etcd call, e.g. 5s (default 5s)", "DURATION", Global: true),
        new("help", 'h', FlagKind.Switch, "show help for the command", Global: true),
        new("output", 'o', FlagKind.Value, "output format", "FORMAT"),
        new("yes", 'y', FlagKind.Switch, "do not ask for confirmation"),
        new("apply", null, FlagKind.Switch, "remove the leases listed (without it, gc only lists them)"),
        new("force", null, FlagKind.Switch, "write a config even though it strands existing leases"),
        new("public-ip", null, FlagKind.Value, "IPv4 address of the node the subnet is reserved for", "IP"),
        new("public-ipv6", null, FlagKind.Value, "IPv6 address of the node (dual stack)", "IP"),
        new("vtep-mac", null, FlagKind.Value, "the node's VTEP MAC address, e.g. 0e:2a:11:22:33:44", "MAC"),
        new("owner", null, FlagKind.Value, "the node's Overlay owner id (overlayd --node-name); default: none, matched by public IP", "NAME"),
        new("renew-margin", null, FlagKind.Value, "leases with less time left than this have missed their renewal (default 60m, as flannel's --subnet-lease-renew-margin)", "DURATION"),
        new("watch-only", null, FlagKind.Switch, "print only changes, not the leases present at the start"),
        .. Pods.PodFlags.Flags,
    ];

    public static readonly CommandSpec[] Commands =
    [
        new("leases list", "", 0, 0, "list every lease and reservation, sorted by subnet", ["output"], ["table", "wide", "json"],
            "overlayctl leases list -o wide"),
        new("leases get", "SUBNET", 1, 1, "show one lease", ["output"], ["table", "wide", "json"],
            "overlayctl leases get 198.18.34.0/24 -o json"),
        new("leases watch", "", 0, 0, "print one line per lease added, changed or removed, until interrupted", ["output", "watch-only"], ["table", "json"],
            "overlayctl leases watch -o json"),
        new("leases reserve", "SUBNET", 1, 1, "reserve a subnet for a node (a lease that never expires)", ["public-ip", "public-ipv6", "vtep-mac", "owner", "output"], ["table", "json"],
            "overlayctl leases reserve 198.18.34.0/24 --public-ip 192.0.2.11"),
        new("leases release", "SUBNET", 1, 1, "delete a lease or reservation (asks unless --yes)", ["yes"], [],
            "overlayctl leases release 198.18.34.0/24 --yes"),
        new("leases gc", "[SUBNET...]", 0, int.MaxValue, "list leases that look abandoned; remove them with --apply", ["apply", "renew-margin", "output"], ["table", "json"],
            "overlayctl leases gc --apply"),
        new("config get", "", 0, 0, "print the network config stored in etcd", ["output"], ["raw", "json"],
            "overlayctl config get"),
        new("config set", "FILE|-", 1, 1, "validate a network config and store it (refuses one that strands leases unless --force)", ["force"], [],
            "overlayctl config set network.json"),
        new("config validate", "FILE|-", 1, 1, "check a network config file without touching etcd", ["output"], ["table", "json"],
            "overlayctl config validate network.json"),
        new("status", "", 0, 0, "the network, subnets used and free, leases close to expiry, reservations", ["output", "renew-margin"], ["table", "json"],
            "overlayctl status"),
        new("version", "", 0, 0, "print overlayctl's version", [], [], "overlayctl version"),
        .. Pods.PodFlags.Commands,
    ];

    private static readonly string[] Groups = ["leases", "config", "pod"];

    public static ParsedCommandLine Parse(IReadOnlyList<string> args)
    {
        var words = new List<string>();
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        var repeated = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        bool flagsEnded = false;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (flagsEnded || arg == "-" || !arg.StartsWith('-'))
            {
                words.Add(arg);
                continue;
            }

            if (arg == "--")
            {
                flagsEnded = true;
                continue;
            }

            (FlagSpec flag, string? value) = Recognise(arg);
            if (value is null && flag.Kind == FlagKind.Value)
            {
                if (i + 1 >= args.Count)
                {
                    throw new UsageException($"flag --{flag.Name} needs a value: {flag.Help}");
                }

                value = args[++i];
            }

            given[flag.Name] = value ?? "true";
            if (flag.Repeatable)
            {
                repeated[flag.Name] = [.. repeated.GetValueOrDefault(flag.Name, []), value!];
            }
        }

        if (given.TryGetValue("help", out string? help) && ParseBoolean("help", help))
        {
            return new ParsedCommandLine(null, [], given, HelpTopic(words));
        }

        if (words.Count == 0)
        {
            throw new UsageException("no command given; try 'overlayctl leases list', or see 'overlayctl --help'");
        }

        if (words[0] == "help")
        {
            return new ParsedCommandLine(null, [], given, HelpTopic(words.Skip(1).ToList()));
        }

        (CommandSpec command, int used) = Resolve(words);
        List<string> arguments = words.Skip(used).ToList();
        if (arguments.Count < command.MinArgs)
        {
            throw new UsageException($"'{command.Path}' needs {command.Arguments}; usage: {command.Usage} (e.g. {command.Example})") { CommandPath = command.Path };
        }

        if (arguments.Count > command.MaxArgs)
        {
            string extra = string.Join(" ", arguments.Skip(command.MaxArgs));
            string takes = command.MaxArgs == 0 ? "takes no arguments" : $"takes only {command.Arguments}";
            throw new UsageException($"'{command.Path}' {takes}, but got '{extra}'; usage: {command.Usage}") { CommandPath = command.Path };
        }

        foreach (string name in given.Keys)
        {
            FlagSpec flag = Flags.First(f => f.Name == name);
            if (!flag.Global && !command.Flags.Contains(name))
            {
                string[] takers = Commands.Where(c => c.Flags.Contains(name)).Select(c => $"'{c.Path}'").ToArray();
                throw new UsageException($"flag --{name} is not valid for '{command.Path}' (it is for {string.Join(", ", takers)})") { CommandPath = command.Path };
            }
        }

        if (given.TryGetValue("output", out string? format) && !command.OutputFormats.Contains(format))
        {
            throw new UsageException($"flag --output: '{format}' is not a format of '{command.Path}'; use one of: {string.Join(", ", command.OutputFormats)}") { CommandPath = command.Path };
        }

        foreach ((string name, string value) in given)
        {
            if (Flags.First(f => f.Name == name).Kind == FlagKind.Switch)
            {
                _ = ParseBoolean(name, value);
            }
        }

        return new ParsedCommandLine(command, arguments, given, null) { Repeated = repeated };
    }

    public static bool ParseBoolean(string flag, string value) =>
        FlagValues.TryParseBoolean(value, out bool parsed)
            ? parsed
            : throw new UsageException($"flag --{flag}: '{value}' is not valid; give true or false (or the flag alone for true)");

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

    public static string HelpText(string? topic)
    {
        var text = new StringBuilder();
        CommandSpec? command = topic is null ? null : Commands.FirstOrDefault(c => c.Path == topic);
        if (command is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"{command.Summary}\n\nUsage:\n  {command.Usage}\n\nExample:\n  {command.Example}\n");
            if (command.Flags.Length > 0)
            {
                text.Append("\nFlags:\n");
                foreach (FlagSpec flag in Flags.Where(f => command.Flags.Contains(f.Name)))
                {
                    string help = flag.Name == "output" ? $"output format: {string.Join(", ", command.OutputFormats)} (default {command.OutputFormats[0]})" : flag.Help;
                    text.Append(CultureInfo.InvariantCulture, $"  {flag.Shown,-32} {help}\n");
                }
            }

            AppendGlobalFlags(text);
            return text.ToString();
        }

        IEnumerable<CommandSpec> shown = topic is null ? Commands : Commands.Where(c => c.Path.StartsWith(topic + " ", StringComparison.Ordinal));
        text.Append("overlayctl: the admin CLI for Overlay's (and flannel's) leases, reservations and network config in etcd\n\nCommands:\n");
        foreach (CommandSpec c in shown)
        {
            string synopsis = c.Path + (c.Arguments.Length > 0 ? " " + c.Arguments : "");
            text.Append(CultureInfo.InvariantCulture, $"  {synopsis,-30} {c.Summary}\n");
        }

        AppendGlobalFlags(text);
        text.Append("\nExit status: 0 done, 1 the operation failed, 2 usage error.\nRun 'overlayctl COMMAND --help' for a command's flags. See docs/cli.md.\n");
        return text.ToString();
    }

    private static void AppendGlobalFlags(StringBuilder text)
    {
        text.Append("\nGlobal flags (etcd-* also from OVERLAYD_<FLAG> or FLANNELD_<FLAG>; the command line wins):\n");
        foreach (FlagSpec flag in Flags.Where(f => f.Global))
        {
            text.Append(CultureInfo.InvariantCulture, $"  {flag.Shown,-32} {flag.Help}\n");
        }
    }

    private static string? HelpTopic(List<string> words)
    {
        if (words.Count == 0)
        {
            return null;
        }

        try
        {
            return Resolve(words).Command.Path;
        }
        catch (UsageException) when (Groups.Contains(Canonical(words[0])))
        {
            return Canonical(words[0]);
        }
    }

    private static (CommandSpec Command, int Used) Resolve(IReadOnlyList<string> words)
    {
        string first = Canonical(words[0]);
        if (Groups.Contains(first))
        {
            string[] verbs = Commands.Where(c => c.Path.StartsWith(first + " ", StringComparison.Ordinal)).Select(c => c.Path[(first.Length + 1)..]).ToArray();
            if (words.Count < 2)
            {
                throw new UsageException($"'{first}' needs a subcommand: {string.Join(", ", verbs)}") { CommandPath = first };
            }

            CommandSpec? command = Commands.FirstOrDefault(c => c.Path == $"{first} {words[1]}");
            return command is null
                ? throw new UsageException($"unknown command '{first} {words[1]}'; '{first}' has: {string.Join(", ", verbs)}") { CommandPath = first }
                : (command, 2);
        }

        CommandSpec? single = Commands.FirstOrDefault(c => c.Path == first);
        return single is null
            ? throw new UsageException($"unknown command '{words[0]}'; commands: leases, config, pod, status, version (see 'overlayctl --help')")
            : (single, 1);
    }

    private static string Canonical(string word) => word switch
    {
        "lease" => "leases",
        "pods" => "pod",
        _ => word,
    };

    private static (FlagSpec Flag, string? Value) Recognise(string arg)
    {
        bool doubleDash = arg.StartsWith("--", StringComparison.Ordinal);
        string body = arg[(doubleDash ? 2 : 1)..];
        int equals = body.IndexOf('=', StringComparison.Ordinal);
        string name = equals < 0 ? body : body[..equals];
        string? value = equals < 0 ? null : body[(equals + 1)..];

        FlagSpec? flag = Flags.FirstOrDefault(f => f.Name == name);
        if (flag is null && !doubleDash && name.Length >= 1)
        {
            // -o json, -ojson, -o=json, -y
            FlagSpec? shortFlag = Flags.FirstOrDefault(f => f.Short == name[0]);
            if (shortFlag is not null && (name.Length == 1 || shortFlag.Kind == FlagKind.Value))
            {
                string? attached = name.Length > 1 ? body[1..] : value;
                return (shortFlag, attached);
            }
        }

        if (flag is null)
        {
            throw new UsageException($"unknown flag {arg.Split('=')[0]}{Suggest(name)}; see 'overlayctl --help'");
        }

        return (flag, value);
    }

    private static string Suggest(string name)
    {
        string? close = Flags.Select(f => f.Name).FirstOrDefault(f => name.Length > 2 && (f.Contains(name, StringComparison.Ordinal) || name.Contains(f, StringComparison.Ordinal)));
        return close is null ? "" : $" (did you mean --{close}?)";
    }
}
