namespace Overlay.Core.Leases;

/// <summary>
/// A node's claim on a subnet as stored in etcd: the key, the value, and the etcd lease the key is attached
/// to. A key with etcd lease 0 is a reservation: it never expires and is never turned into an expiring
/// lease. <see cref="Expiration"/> is filled in only where a caller asked etcd for the lease's time to live.
/// </summary>
public sealed record Lease(SubnetKey Subnet, LeaseAttributes Attributes, long EtcdLeaseId, DateTimeOffset? Expiration = null)
{
    public const long NoEtcdLease = 0;

    public bool IsReservation => EtcdLeaseId == NoEtcdLease;
}
