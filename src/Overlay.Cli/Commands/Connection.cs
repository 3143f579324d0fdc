using Overlay.Leases;

namespace Overlay.Cli.Commands;

/// <summary>
/// How to reach etcd, resolved and checked by <see cref="EtcdFlags"/> exactly as overlayd does: flannel's
/// FLANNELD_ETCD_* variables, then OVERLAYD_ETCD_* (which win), then the command line (which wins over both).
/// Remembers where the endpoints came from, so an unreachable etcd can be reported with the place to change.
/// </summary>
internal sealed record Connection(EtcdOptions Options, string EndpointsSource)
{
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(5);

    public static Connection Resolve(ParsedCommandLine parsed, IReadOnlyDictionary<string, string?> environment)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (EtcdFlag flag in EtcdFlags.All)
        {
            if (parsed.Value(flag.Name) is { } value)
            {
                given[flag.Name] = value;
            }
        }

        ResolvedEtcdFlags etcd = EtcdFlags.Resolve(given, environment);
        if (!etcd.IsValid)
        {
            throw new UsageException(etcd.Problems[0]);
        }

        EtcdOptions options = etcd.Options! with
        {
            CallTimeout = parsed.Value("command-timeout") is { } timeout
                ? CommandLine.ParseDuration("command-timeout", timeout, TimeSpan.FromMilliseconds(100))
                : DefaultCommandTimeout,
        };
        return new Connection(options, etcd.EndpointsSource);
    }
}
