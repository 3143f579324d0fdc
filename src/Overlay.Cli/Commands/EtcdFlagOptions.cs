using System.CommandLine;
using Overlay.Leases.Etcd;

namespace Overlay.Cli.Commands;

/// <summary>
/// The etcd connection flags on overlayctl's command line, built from the one definition overlayd uses too
/// (<see cref="EtcdFlags"/>), and the one place that reads them: they are global (accepted after any command
/// word), and <see cref="Resolve"/> hands their raw values to <see cref="Connection.Resolve"/>, which adds the
/// environment and validates.
/// </summary>
internal static class EtcdFlagOptions
{
    public const string CommandTimeout = "command-timeout";

    private static readonly Option<string>[] Options =
    [
        .. EtcdFlags.All.Select(flag => Flag(flag.Name, flag.ValueName, flag.Help)),
        Flag(CommandTimeout, "DURATION", "time allowed for one etcd call, e.g. 5s (default 5s)"),
    ];

    public static void AddTo(Command root)
    {
        foreach (Option<string> option in Options)
        {
            root.Options.Add(option);
        }
    }

    /// <summary>The connection the parsed command line (and the environment) asks for.</summary>
    public static Connection Resolve(ParseResult parse, IReadOnlyDictionary<string, string?> environment)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Option<string> option in Options)
        {
            // "--etcd-prefix=" is given, with an empty value: the shared checks judge it, as overlayd's do.
            if (parse.GetResult(option) is { Implicit: false })
            {
                given[option.Name[2..]] = parse.GetValue(option) ?? string.Empty;
            }
        }

        return Connection.Resolve(given, environment);
    }

    private static Option<string> Flag(string name, string valueName, string description) => new("--" + name)
    {
        HelpName = valueName,
        Description = description,
        Recursive = true,
        Arity = ArgumentArity.ZeroOrOne, // an empty value is the checks' to refuse, in their words
    };
}
