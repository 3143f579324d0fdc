using System.Net;
using Overlay.Core.Leases;

namespace Overlay.Cli.Tests;

/// <summary>Leases built in memory for the pure (golden) output tests.</summary>
public static class Samples
{
    public static Lease Lease(string subnetKey, string publicIP, string? mac, string? owner, TimeSpan? left, long etcdLeaseId = 0x694d7a1b2c3d4e5f, string? publicIPv6 = null, string? macV6 = null) =>
        new(
            SubnetKey.Parse(subnetKey),
            new LeaseAttributes
            {
                PublicIP = publicIP,
                PublicIPv6 = publicIPv6,
                BackendType = "vxlan",
                BackendData = mac is null ? null : new VxlanBackendData { Vni = 1, VtepMac = mac },
                BackendV6Data = macV6 is null ? null : new VxlanBackendData { Vni = 1, VtepMac = macV6 },
                OwnerId = owner,
            },
            left is null ? Overlay.Core.Leases.Lease.NoEtcdLease : etcdLeaseId,
            left is { } l ? Cli.Now + l : null);

    public static Lease Reservation(string subnetKey, string publicIP, string? mac = null, string? owner = null) =>
        Lease(subnetKey, publicIP, mac, owner, left: null);

    /// <summary>A reservation, a dual-stack lease with 5m3s left and a lease with a day left, given out of order.</summary>
    public static IReadOnlyList<Lease> Three() =>
    [
        Lease("198.18.34.0-24", "192.0.2.11", "0e:2a:11:22:33:44", "node-a", TimeSpan.FromSeconds(86370)),
        Reservation("198.18.9.0-24", "192.0.2.19"),
        Lease("198.18.10.0-24&2001:db8:0:a::-64", "198.51.100.10", "0e:2a:00:00:00:0a", "node-c", TimeSpan.FromSeconds(303), 0x694d7a1b2c3d4e60, "2001:db8::10", "0e:2a:00:00:01:0a"),
    ];

    public static SubnetKey Key(string text) => SubnetKey.Parse(text);

    public static IPNetwork Net(string cidr) => IPNetwork.Parse(cidr);
}
