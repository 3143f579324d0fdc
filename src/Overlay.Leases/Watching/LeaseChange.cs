using Overlay.Core.Leases;

namespace Overlay.Leases.Watching;

public enum LeaseChangeKind
{
    Added,
    Changed,
    Removed,
}

/// <summary>One lease that appeared, changed or went away; <see cref="Lease"/> is null for a removal, <see cref="Previous"/> for an addition.</summary>
public sealed record LeaseChange(LeaseChangeKind Kind, SubnetKey Subnet, Lease? Lease, Lease? Previous);

/// <summary>
/// What one watch response (or one full list) changed, the whole lease set after it, and the etcd revision it
/// reflects. <see cref="IsResync"/> marks an update that came from listing everything (at start, and after a
/// compaction) rather than from watch events.
/// </summary>
public sealed record LeaseUpdate(IReadOnlyList<LeaseChange> Changes, IReadOnlyList<Lease> Current, long Revision, bool IsResync);

/// <summary>The difference between two complete lease sets: adds, removes and changes.</summary>
public static class LeaseDiff
{
    public static IReadOnlyList<LeaseChange> Between(IReadOnlyDictionary<SubnetKey, Lease> before, IReadOnlyDictionary<SubnetKey, Lease> after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changes = new List<LeaseChange>();
        foreach ((SubnetKey subnet, Lease lease) in after)
        {
            if (!before.TryGetValue(subnet, out Lease? previous))
            {
                changes.Add(new LeaseChange(LeaseChangeKind.Added, subnet, lease, null));
            }
            else if (previous != lease)
            {
                changes.Add(new LeaseChange(LeaseChangeKind.Changed, subnet, lease, previous));
            }
        }

        foreach ((SubnetKey subnet, Lease previous) in before)
        {
            if (!after.ContainsKey(subnet))
            {
                changes.Add(new LeaseChange(LeaseChangeKind.Removed, subnet, null, previous));
            }
        }

        return changes;
    }
}
