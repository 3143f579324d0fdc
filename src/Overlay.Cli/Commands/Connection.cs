using Overlay.Leases;

namespace Overlay.Cli.Commands;

/// <summary>
/// How to reach etcd, resolved as overlayd does: flannel's FLANNELD_ETCD_* variables, then OVERLAYD_ETCD_*
/// (which win), then the command line (which wins over both). Remembers where the endpoints came from, so
/// an unreachable etcd can be reported with the place to change.
/// </summary>
internal sealed record Connection(EtcdOptions Options, string EndpointsSource)
{
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(5);

    /// <param name="flags">The connection flags given on the command line (name without dashes → raw value).</param>
    public static Connection Resolve(IReadOnlyDictionary<string, string> flags, IReadOnlyDictionary<string, string?> environment)
    {
        var values = new Dictionary<string, (string Value, string Source)>(StringComparer.Ordinal);
        foreach (string flag in EtcdFlags.FromEnvironment)
        {
            foreach (string source in (string[])["FLANNELD_", "OVERLAYD_"])
            {
                string variable = source + flag.ToUpperInvariant().Replace('-', '_');
                if (environment.TryGetValue(variable, out string? value) && value is not null)
                {
                    values[flag] = (value, $"environment variable {variable}");
                }
            }

            if (flags.TryGetValue(flag, out string? given))
            {
                values[flag] = (given, $"flag --{flag}");
            }
        }

        var options = new EtcdOptions();
        string endpointsSource = "the default";
        if (values.TryGetValue("etcd-endpoints", out var endpoints))
        {
            options = options with { Endpoints = Endpoints(endpoints.Value, endpoints.Source) };
            endpointsSource = endpoints.Source;
        }

        if (values.TryGetValue("etcd-prefix", out var prefix))
        {
            if (string.IsNullOrWhiteSpace(prefix.Value) || !prefix.Value.StartsWith('/'))
            {
                throw new UsageException($"{prefix.Source}: '{prefix.Value}' is not an etcd prefix; give one such as /coreos.com/network");
            }

            options = options with { Prefix = prefix.Value.TrimEnd('/') };
        }

        options = options with
        {
            CaFile = ExistingFile(values, "etcd-cafile"),
            CertFile = ExistingFile(values, "etcd-certfile"),
            KeyFile = ExistingFile(values, "etcd-keyfile"),
            Username = NonEmpty(values, "etcd-username"),
            Password = NonEmpty(values, "etcd-password"),
            CallTimeout = flags.TryGetValue("command-timeout", out string? timeout)
                ? CommandLine.ParseDuration("command-timeout", timeout, TimeSpan.FromMilliseconds(100))
                : DefaultCommandTimeout,
        };

        if ((options.CertFile is null) != (options.KeyFile is null))
        {
            throw new UsageException("a client certificate needs both --etcd-certfile and --etcd-keyfile (or their OVERLAYD_/FLANNELD_ variables)");
        }

        if (options.Username is not null && options.Password is null)
        {
            throw new UsageException($"etcd user '{options.Username}' needs a password: pass --etcd-password or set OVERLAYD_ETCD_PASSWORD");
        }

        bool tlsFiles = options.CaFile is not null || options.CertFile is not null;
        if (tlsFiles && options.Endpoints.Any(e => e.StartsWith("http://", StringComparison.OrdinalIgnoreCase)))
        {
            throw new UsageException($"TLS files were given but the endpoints ({string.Join(",", options.Endpoints)}, from {endpointsSource}) use http://; use https:// endpoints");
        }

        return new Connection(options, endpointsSource);
    }

    private static List<string> Endpoints(string value, string source)
    {
        List<string> items = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (items.Count == 0)
        {
            throw new UsageException($"{source} is empty: give at least one endpoint such as http://127.0.0.1:2379");
        }

        foreach (string item in items)
        {
            if (!Uri.TryCreate(item, UriKind.Absolute, out Uri? uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.Host.Length == 0)
            {
                throw new UsageException($"{source}: '{item}' is not an endpoint URL; use http://HOST:PORT or https://HOST:PORT, comma-separated");
            }
        }

        bool https = items.Any(e => e.StartsWith("https://", StringComparison.OrdinalIgnoreCase));
        bool http = items.Any(e => e.StartsWith("http://", StringComparison.OrdinalIgnoreCase));
        if (https && http)
        {
            throw new UsageException($"{source}: the endpoints mix http:// and https://; use one scheme for the whole cluster");
        }

        return items;
    }

    private static string? ExistingFile(Dictionary<string, (string Value, string Source)> values, string name)
    {
        if (!values.TryGetValue(name, out var given))
        {
            return null;
        }

        return File.Exists(given.Value)
            ? given.Value
            : throw new UsageException($"{given.Source}: file '{given.Value}' does not exist; give the path of a PEM file");
    }

    private static string? NonEmpty(Dictionary<string, (string Value, string Source)> values, string name) =>
        values.TryGetValue(name, out var given) && given.Value.Length > 0 ? given.Value : null;
}
