using Overlay.Core.Addressing;
using Overlay.Core.Leases;

namespace Overlay.Daemon.Reconciliation;

/// <summary>
/// Keeps a peer's entries for a short while after its lease left the lease set, so that a lease deleted and put back
/// at once (its node re-acquires the same subnet as soon as it sees its key gone: an expiry, an etcd restore, a
/// hasty <c>etcdctl del</c>) never takes its route, neighbour and FDB entry away from the other nodes, which would drop
/// every packet between the deletion and the put. A lease that does not come back within <see cref="Period"/> is
/// removed then. Pure: the caller passes the time, and wakes the component at <see cref="NextExpiry"/>.
/// </summary>
public sealed class DepartureGrace(TimeSpan period)
{
    /// <summary>How long overlayd keeps a departed peer's entries: well above a node's re-acquire time under load.</summary>
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromSeconds(2);

    private readonly Dictionary<SubnetKey, (Lease Lease, DateTimeOffset Until)> _held = [];

    public TimeSpan Period { get; } = period > TimeSpan.Zero
        ? period
        : throw new ArgumentOutOfRangeException(nameof(period), period, "the departure grace must be positive");

    /// <summary>Leases held now.</summary>
    public int Count => _held.Count;

    /// <summary>When the first held lease's grace ends; null when none is held.</summary>
    public DateTimeOffset? NextExpiry => _held.Count == 0 ? null : _held.Values.Min(h => h.Until);

    public bool IsHeld(SubnetKey subnet) => _held.ContainsKey(subnet);

    /// <summary>
    /// A lease left the lease set (its last value <paramref name="gone"/>): it is held from <paramref name="now"/>,
    /// unless it is this node's own (<paramref name="own"/>) or held already (it keeps its first deadline).
    /// </summary>
    public void Depart(Lease gone, SubnetKey own, DateTimeOffset now)
    {
        if (gone.Subnet != own)
        {
            _held.TryAdd(gone.Subnet, (gone, now + Period));
        }
    }

    /// <summary>A lease for <paramref name="subnet"/> is in the lease set (again): the new value replaces a held one.</summary>
    public void Return(SubnetKey subnet) => _held.Remove(subnet);

    /// <summary>The held leases whose grace has ended by <paramref name="now"/>, no longer held: remove their entries now.</summary>
    public IReadOnlyList<SubnetKey> TakeExpired(DateTimeOffset now)
    {
        List<SubnetKey> expired = [.. _held.Where(h => h.Value.Until <= now).Select(h => h.Key)];
        foreach (SubnetKey subnet in expired)
        {
            _held.Remove(subnet);
        }

        return expired;
    }

    /// <summary>
    /// The leases to program: <paramref name="current"/> and every held lease whose subnet overlaps none of them (nor
    /// <paramref name="own"/>). A held lease that overlaps a current one (the network was re-split) is left out at once.
    /// </summary>
    public IReadOnlyList<Lease> Effective(IReadOnlyList<Lease> current, SubnetKey own)
    {
        if (_held.Count == 0)
        {
            return current;
        }

        var leases = new List<Lease>(current.Count + _held.Count);
        leases.AddRange(current);
        foreach ((Lease held, _) in _held.Values)
        {
            if (!Overlaps(held.Subnet, own) && !current.Any(l => Overlaps(l.Subnet, held.Subnet)))
            {
                leases.Add(held);
            }
        }

        return leases;
    }

    private static bool Overlaps(SubnetKey a, SubnetKey b) =>
        IPAddressMath.Overlaps(a.IPv4, b.IPv4) || (a.IPv6 is { } a6 && b.IPv6 is { } b6 && IPAddressMath.Overlaps(a6, b6));
}
