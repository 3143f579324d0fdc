using Overlay.Leases;
using Overlay.Leases.Etcd;

namespace Overlay.Cli.Commands;

/// <summary>
/// How to reach etcd, resolved and checked by <see cref="EtcdFlags"/> exactly as overlayd does: flannel's
/// FLANNELD_ETCD_* variables, then OVERLAYD_ETCD_* (which win), then the command line (which wins over both).
/// Remembers where the endpoints came from, so an unreachable etcd can be reported with the place to change.
/// </summary>
internal sealed record Connection(EtcdOptions Options, string EndpointsSource)
{
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(5);

    /// <param name="flags">The connection flags given on the command line (name without dashes → raw value).</param>
    public static Connection Resolve(IReadOnlyDictionary<string, string> flags, IReadOnlyDictionary<string, string?> environment)
    {
        var given = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (EtcdFlag flag in EtcdFlags.All)
        {
            if (flags.TryGetValue(flag.Name, out string? value))
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
            CallTimeout = flags.TryGetValue(EtcdFlagOptions.CommandTimeout, out string? timeout)
                ? CommandLine.ParseDuration(EtcdFlagOptions.CommandTimeout, timeout, TimeSpan.FromMilliseconds(100))
                : DefaultCommandTimeout,
        };
        return new Connection(options, etcd.EndpointsSource);
    }
}
