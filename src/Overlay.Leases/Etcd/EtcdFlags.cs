namespace Overlay.Leases.Etcd;

/// <summary>
/// One etcd connection flag as overlayd and overlayctl both take it (flanneld's name): the command-line name
/// without dashes, the word shown for its value in help, what it means, and its default when not given.
/// </summary>
public sealed record EtcdFlag(string Name, string ValueName, string Summary, string? Default = null)
{
    /// <summary>The variables that set it, weakest first: <c>FLANNELD_X</c>, then <c>OVERLAYD_X</c>.</summary>
    public IReadOnlyList<string> EnvironmentVariables { get; } =
        [.. ((string[])["FLANNELD_", "OVERLAYD_"]).Select(prefix => prefix + Name.ToUpperInvariant().Replace('-', '_'))];

    /// <summary>The help line's text: what it means, and the default if there is one.</summary>
    public string Help => Default is null ? Summary : $"{Summary} (default {Default})";
}

/// <summary>A value given for an etcd flag, and where it came from (e.g. <c>flag --etcd-prefix</c>).</summary>
public readonly record struct EtcdFlagValue(string Value, string Source);

/// <summary>
/// What the etcd flags resolved to: the options to connect with, or every problem found (each a whole
/// sentence naming the flag or variable and what is valid). <see cref="EndpointsSource"/> says where the
/// endpoints came from, for messages about an unreachable etcd.
/// </summary>
public sealed record ResolvedEtcdFlags(EtcdOptions? Options, IReadOnlyList<string> Problems, string EndpointsSource)
{
    public bool IsValid => Problems.Count == 0;
}

/// <summary>
/// The etcd connection flags (<c>--etcd-endpoints</c>, <c>--etcd-prefix</c>, TLS files, user and password),
/// their environment variables and their validation, defined once for overlayd and overlayctl: the same input
/// gets the same verdict and the same message from both, and a program reports a problem as a usage error.
/// Values come from <c>FLANNELD_*</c>, then <c>OVERLAYD_*</c> (which wins), then the command line (which wins
/// over both); only the winning value is checked.
/// </summary>
public static class EtcdFlags
{
    public static readonly EtcdFlag Endpoints = new("etcd-endpoints", "URLS", "comma-separated etcd endpoints", "http://127.0.0.1:2379");

    public static readonly EtcdFlag Prefix = new("etcd-prefix", "PREFIX", "etcd prefix", "/coreos.com/network");

    public static readonly EtcdFlag CaFile = new("etcd-cafile", "FILE", "CA file for etcd's TLS certificate");

    public static readonly EtcdFlag CertFile = new("etcd-certfile", "FILE", "client certificate for etcd");

    public static readonly EtcdFlag KeyFile = new("etcd-keyfile", "FILE", "client key for etcd");

    public static readonly EtcdFlag Username = new("etcd-username", "NAME", "etcd user name");

    public static readonly EtcdFlag Password = new("etcd-password", "PASSWORD", "etcd password");

    /// <summary>Every etcd flag, in the order help lists them and problems are reported.</summary>
    public static readonly IReadOnlyList<EtcdFlag> All = [Endpoints, Prefix, CaFile, CertFile, KeyFile, Username, Password];

    /// <summary>Where the endpoints came from when no flag or variable gave them.</summary>
    public const string DefaultSource = "the default";

    /// <summary>The flag called <paramref name="name"/> (without dashes), or null if it is not an etcd flag.</summary>
    public static EtcdFlag? Named(string name) => All.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.Ordinal));

    /// <summary>
    /// Resolves and checks the etcd flags. <paramref name="commandLine"/> maps a flag name (without dashes) to
    /// the last value given on the command line; other names in it are ignored.
    /// </summary>
    public static ResolvedEtcdFlags Resolve(
        IReadOnlyDictionary<string, string> commandLine,
        IReadOnlyDictionary<string, string?> environment,
        Func<string, bool>? fileExists = null)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(environment);
        return Validate(Gather(commandLine, environment), fileExists);
    }

    /// <summary>The winning value of every etcd flag that was given, and where it came from.</summary>
    public static IReadOnlyDictionary<EtcdFlag, EtcdFlagValue> Gather(IReadOnlyDictionary<string, string> commandLine, IReadOnlyDictionary<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        ArgumentNullException.ThrowIfNull(environment);
        var given = new Dictionary<EtcdFlag, EtcdFlagValue>();
        foreach (EtcdFlag flag in All)
        {
            foreach (string variable in flag.EnvironmentVariables)
            {
                if (environment.TryGetValue(variable, out string? value) && value is not null)
                {
                    given[flag] = new EtcdFlagValue(value, $"environment variable {variable}");
                }
            }

            if (commandLine.TryGetValue(flag.Name, out string? fromCommandLine))
            {
                given[flag] = new EtcdFlagValue(fromCommandLine, $"flag --{flag.Name}");
            }
        }

        return given;
    }

    /// <summary>
    /// Checks the given values and builds the options. <paramref name="fileExists"/> answers for the TLS files
    /// (<see cref="File.Exists(string)"/> unless given). With the real files (no <paramref name="fileExists"/>) and no
    /// other problem, the TLS files are also read and checked (<see cref="EtcdTlsMaterial"/>): a CA file or certificate
    /// that is not PEM, a key that is not the certificate's, a file that cannot be read.
    /// </summary>
    public static ResolvedEtcdFlags Validate(IReadOnlyDictionary<EtcdFlag, EtcdFlagValue> given, Func<string, bool>? fileExists = null)
    {
        ArgumentNullException.ThrowIfNull(given);
        bool realFiles = fileExists is null;
        fileExists ??= File.Exists;
        var problems = new List<string>();
        var options = new EtcdOptions();

        string endpointsSource = DefaultSource;
        bool endpointsUsable = true;
        if (given.TryGetValue(Endpoints, out EtcdFlagValue endpoints))
        {
            endpointsSource = endpoints.Source;
            string[] items = endpoints.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int before = problems.Count;
            if (items.Length == 0)
            {
                problems.Add($"{endpoints.Source} is empty: give at least one endpoint such as {Endpoints.Default}");
            }
            else
            {
                problems.AddRange(EndpointProblems(items, endpoints.Source));
            }

            endpointsUsable = problems.Count == before;
            options = options with { Endpoints = items };
        }

        if (given.TryGetValue(Prefix, out EtcdFlagValue prefix))
        {
            if (!prefix.Value.StartsWith('/'))
            {
                problems.Add($"{prefix.Source}: '{prefix.Value}' is not an etcd prefix; give one such as {Prefix.Default}");
            }

            options = options with { Prefix = prefix.Value.TrimEnd('/') };
        }

        options = options with
        {
            CaFile = PemFile(CaFile),
            CertFile = PemFile(CertFile),
            KeyFile = PemFile(KeyFile),
            Username = NonEmpty(Username),
            Password = NonEmpty(Password),
        };

        problems.AddRange(CombinationProblems(options, endpointsSource, endpointsUsable));
        if (realFiles && problems.Count == 0)
        {
            problems.AddRange(EtcdTlsMaterial.Read(options, flag => given[flag].Source).Problems);
        }

        return new ResolvedEtcdFlags(problems.Count == 0 ? options : null, problems, endpointsSource);

        string? PemFile(EtcdFlag flag)
        {
            if (!given.TryGetValue(flag, out EtcdFlagValue file))
            {
                return null;
            }

            if (!fileExists(file.Value))
            {
                problems.Add($"{file.Source}: file '{file.Value}' does not exist; give the path of a PEM file");
            }

            return file.Value;
        }

        string? NonEmpty(EtcdFlag flag) => given.TryGetValue(flag, out EtcdFlagValue value) && value.Value.Length > 0 ? value.Value : null;
    }

    /// <summary>
    /// What is wrong with options built in code rather than from flags, in the flags' words: the checks of
    /// <see cref="Validate"/> that need no files. <see cref="EtcdClientFactory"/> refuses options with a problem.
    /// </summary>
    public static IReadOnlyList<string> Check(EtcdOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        const string source = "EtcdOptions.Endpoints";
        var problems = new List<string>();
        problems.AddRange(options.Endpoints.Count == 0
            ? [$"{source} is empty: give at least one endpoint such as {Endpoints.Default}"]
            : EndpointProblems(options.Endpoints, source));
        bool endpointsUsable = problems.Count == 0;
        if (options.Prefix.Length > 0 && !options.Prefix.StartsWith('/'))
        {
            problems.Add($"'{options.Prefix}' is not an etcd prefix; give one such as {Prefix.Default}");
        }

        problems.AddRange(CombinationProblems(options, source, endpointsUsable));
        return problems;
    }

    /// <summary>Every endpoint an http(s) URL with a host, and one scheme for all of them.</summary>
    private static List<string> EndpointProblems(IReadOnlyList<string> endpoints, string source)
    {
        var problems = new List<string>();
        foreach (string endpoint in endpoints)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
            {
                problems.Add($"{source}: '{endpoint}' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated");
            }
        }

        if (problems.Count == 0 && endpoints.Any(IsHttps) && !endpoints.All(IsHttps))
        {
            problems.Add($"{source}: the endpoints mix http:// and https://; use one scheme for the whole cluster");
        }

        return problems;
    }

    /// <summary>TLS files only with https:// endpoints, a certificate with its key, a user with a password.</summary>
    private static IEnumerable<string> CombinationProblems(EtcdOptions options, string endpointsSource, bool endpointsUsable)
    {
        bool tlsFiles = options.CaFile is not null || options.CertFile is not null || options.KeyFile is not null;
        if (endpointsUsable && tlsFiles && !options.Endpoints.Any(IsHttps))
        {
            // TLS material is never sent over a plain connection, nor silently ignored.
            yield return $"TLS files were given but the endpoints ({string.Join(",", options.Endpoints)}, from {endpointsSource}) use http://; use https:// endpoints";
        }

        if ((options.CertFile is null) != (options.KeyFile is null))
        {
            yield return "a client certificate needs both --etcd-certfile and --etcd-keyfile (or their OVERLAYD_/FLANNELD_ variables)";
        }

        if (!string.IsNullOrEmpty(options.Username) && string.IsNullOrEmpty(options.Password))
        {
            yield return $"etcd user '{options.Username}' needs a password: pass --etcd-password or set OVERLAYD_ETCD_PASSWORD";
        }
    }

    internal static bool IsHttps(string endpoint) => endpoint.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
}
