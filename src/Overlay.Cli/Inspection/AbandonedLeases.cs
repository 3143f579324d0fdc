using Overlay.Cli.Commands;
using Overlay.Cli.Output;
using Overlay.Core.Leases;

namespace Overlay.Cli.Inspection;

/// <summary>A lease that looks abandoned, and every reason it does.</summary>
internal sealed record AbandonedLease(Lease Lease, IReadOnlyList<string> Reasons);

/// <summary>
/// <c>leases gc</c>'s heuristics, as a pure function of the leases (with expirations), the time and the
/// renew margin. See docs/cli.md. A reservation is only ever a candidate when it is named.
/// </summary>
internal static class AbandonedLeases
{
    public static IReadOnlyList<AbandonedLease> Find(IReadOnlyList<Lease> leases, DateTimeOffset now, TimeSpan renewMargin, IReadOnlyList<SubnetArgument> named)
    {
        var reasons = new Dictionary<SubnetKey, List<string>>();
        void Flag(Lease lease, string reason)
        {
            if (!reasons.TryGetValue(lease.Subnet, out List<string>? list))
            {
                reasons[lease.Subnet] = list = [];
            }

            list.Add(reason);
        }

        foreach (Lease lease in leases)
        {
            if (named.Any(n => n.Matches(lease.Subnet)))
            {
                Flag(lease, "named on the command line");
            }

            if (lease.IsReservation)
            {
                continue;
            }

            if (lease.Expiration is not { } expiration)
            {
                Flag(lease, "etcd reports no time left on its etcd lease");
            }
            else if (expiration - now < renewMargin)
            {
                Flag(lease, $"{HumanDuration.Format(expiration - now)} left, less than the renew margin {HumanDuration.Format(renewMargin)}: its owner missed its renewal");
            }
        }

        // A node renews one lease; older leases of the same owner id or public IP are leftovers of earlier runs.
        var pairs = new HashSet<(SubnetKey Older, SubnetKey Newest)>();
        foreach ((Lease older, Lease newest) in Duplicates(leases.Where(l => l.Attributes.OwnerId is not null).GroupBy(l => l.Attributes.OwnerId!)))
        {
            pairs.Add((older.Subnet, newest.Subnet));
            Flag(older, $"owner {older.Attributes.OwnerId} also holds {newest.Subnet.IPv4}, renewed more recently");
        }

        foreach ((Lease older, Lease newest) in Duplicates(leases.GroupBy(l => l.Attributes.PublicIP)))
        {
            if (pairs.Add((older.Subnet, newest.Subnet)))
            {
                Flag(older, $"public IP {older.Attributes.PublicIP} also holds {newest.Subnet.IPv4}, renewed more recently");
            }
        }

        return LeaseView.Sorted(leases.Where(l => reasons.ContainsKey(l.Subnet)))
            .Select(l => new AbandonedLease(l, reasons[l.Subnet].Distinct().ToList()))
            .ToList();
    }

    /// <summary>In each group of two or more renewing leases: every lease but the one renewed most recently, with that one.</summary>
    private static IEnumerable<(Lease Older, Lease Newest)> Duplicates(IEnumerable<IGrouping<string, Lease>> groups)
    {
        foreach (IGrouping<string, Lease> group in groups)
        {
            List<Lease> renewing = group.Where(l => !l.IsReservation).ToList();
            if (renewing.Count < 2)
            {
                continue;
            }

            Lease newest = renewing
                .OrderByDescending(l => l.Expiration ?? DateTimeOffset.MinValue)
                .ThenByDescending(l => l.EtcdLeaseId)
                .First();
            foreach (Lease older in renewing.Where(l => l != newest))
            {
                yield return (older, newest);
            }
        }
    }
}
