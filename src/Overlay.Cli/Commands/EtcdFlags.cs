using System.CommandLine;

namespace Overlay.Cli.Commands;

/// <summary>
/// The etcd connection flags on overlayctl's command line, and the one place that reads them: they are
/// global (accepted after any command word), and <see cref="Resolve"/> hands their raw values to
/// <see cref="Connection.Resolve"/>, which adds the environment and validates.
/// </summary>
internal static class EtcdFlags
{
    /// <summary>The flags also read from FLANNELD_&lt;FLAG&gt; and OVERLAYD_&lt;FLAG&gt; (upper-cased, '-' → '_').</summary>
    public static readonly string[] FromEnvironment =
        ["etcd-endpoints", "etcd-prefix", "etcd-cafile", "etcd-certfile", "etcd-keyfile", "etcd-username", "etcd-password"];

    private static readonly Option<string>[] Options =
    [
        Flag("etcd-endpoints", "URLS", "comma-separated etcd endpoints (default http://127.0.0.1:2379; env OVERLAYD_ETCD_ENDPOINTS, FLANNELD_ETCD_ENDPOINTS)"),
        Flag("etcd-prefix", "PREFIX", "etcd prefix (default /coreos.com/network)"),
        Flag("etcd-cafile", "FILE", "CA file for etcd's TLS certificate"),
        Flag("etcd-certfile", "FILE", "client certificate for etcd"),
        Flag("etcd-keyfile", "FILE", "client key for etcd"),
        Flag("etcd-username", "NAME", "etcd user name"),
        Flag("etcd-password", "PASSWORD", "etcd password"),
        Flag("command-timeout", "DURATION", "time allowed for one etcd call, e.g. 5s (default 5s)"),
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
            if (parse.GetValue(option) is { } value)
            {
                given[option.Name[2..]] = value;
            }
        }

        return Connection.Resolve(given, environment);
    }

    private static Option<string> Flag(string name, string valueName, string description) => new("--" + name)
    {
        HelpName = valueName,
        Description = description,
        Recursive = true,
    };
}
