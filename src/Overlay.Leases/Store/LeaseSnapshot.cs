using Overlay.Core.Allocation;
using Overlay.Core.Leases;

namespace Overlay.Leases.Store;

/// <summary>An etcd entry under the subnets folder that is not a lease (bad key or bad value), and why.</summary>
public sealed record SkippedEntry(string Key, string Reason);

/// <summary>Every lease under the prefix at one etcd revision, and the entries that could not be read.</summary>
public sealed record LeaseSnapshot(IReadOnlyList<Lease> Leases, long Revision, IReadOnlyList<SkippedEntry> Skipped);

/// <summary>
/// This node's lease as last written: the lease, the key's mod revision after our write (renewal compares
/// it), when the etcd lease expires (null for a reservation), and how it was obtained.
/// </summary>
public sealed record OwnLease(Lease Lease, long ModRevision, DateTimeOffset? Expiration, AllocationOutcome How)
{
    public SubnetKey Subnet => Lease.Subnet;

    public bool IsReservation => Lease.IsReservation;
}
