namespace Overlay.Core.Leases;

/// <summary>
/// A node's claim on a subnet: the key, the value, and when it ends. A lease with no expiration is a
/// reservation (written with etcd lease 0): it never expires and is never turned into an expiring lease.
/// </summary>
public sealed record Lease(SubnetKey Subnet, LeaseAttributes Attributes, DateTimeOffset? Expiration)
{
    public bool IsReservation => Expiration is null;
}
