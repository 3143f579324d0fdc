using System.Net.Sockets;
using Overlay.Core.Leases;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Reconciliation;

/// <summary>
/// Which skipped leases are worth a log line: each (lease, family) once for as long as it stays skipped for the same
/// reason, however many passes see it. A lease that is programmed or gone is forgotten, so a later problem with it is
/// reported anew, and a new reason (a waiting reservation whose node wrote a bad MAC) is reported when it appears.
/// </summary>
public sealed class SkippedLeaseReports
{
    private Dictionary<(SubnetKey Subnet, AddressFamily Family), string> _reported = [];

    /// <summary>The skips of one full pass that were not reported already, in their order; remembers the pass's skips.</summary>
    public IReadOnlyList<SkippedLease> ToReport(IReadOnlyList<SkippedLease> skipped)
    {
        var now = new Dictionary<(SubnetKey Subnet, AddressFamily Family), string>(skipped.Count);
        var report = new List<SkippedLease>();
        foreach (SkippedLease skip in skipped)
        {
            (SubnetKey, AddressFamily) key = (skip.Subnet, skip.Family);
            if (!now.TryAdd(key, skip.Reason))
            {
                continue;
            }

            if (!_reported.TryGetValue(key, out string? before) || before != skip.Reason)
            {
                report.Add(skip);
            }
        }

        _reported = now;
        return report;
    }
}
