using System.Globalization;
using Overlay.Core.Addressing;
using Overlay.Core.Leases;
using Overlay.Leases;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;

namespace Overlay.Cli.Output;

/// <summary>How leases are shown: table rows, JSON objects, watch lines. Pure: no etcd, the time is given.</summary>
internal static class LeaseView
{
    public const string None = "<none>";

    private static readonly string[] Columns = ["SUBNET", "IPV6 SUBNET", "PUBLIC IP", "VTEP MAC", "VNI", "OWNER", "EXPIRES IN"];

    private static readonly string[] WideColumns = ["PUBLIC IPV6", "IPV6 VTEP MAC", "ETCD LEASE", "EXPIRES AT"];

    /// <summary>Sorted by IPv4 subnet (numerically), then by IPv6 subnet.</summary>
    public static IReadOnlyList<Lease> Sorted(IEnumerable<Lease> leases) =>
        leases.OrderBy(l => IPAddressMath.First(l.Subnet.IPv4))
            .ThenBy(l => l.Subnet.IPv4.PrefixLength)
            .ThenBy(l => l.Subnet.IPv6 is { } v6 ? IPAddressMath.First(v6) : UInt128.Zero)
            .ToList();

    public static void WriteTable(TextWriter writer, IEnumerable<Lease> leases, DateTimeOffset now, bool wide)
    {
        TableWriter table = wide ? new TableWriter([.. Columns, .. WideColumns]) : new TableWriter(Columns);
        foreach (Lease lease in Sorted(leases))
        {
            string[] cells =
            [
                lease.Subnet.IPv4.ToString(),
                lease.Subnet.IPv6?.ToString() ?? None,
                lease.Attributes.PublicIP,
                lease.Attributes.BackendData?.VtepMac ?? None,
                lease.Attributes.BackendData is { } data ? data.Vni.ToString(CultureInfo.InvariantCulture) : None,
                lease.Attributes.OwnerId ?? None,
                ExpiresIn(lease, now),
            ];
            if (wide)
            {
                cells =
                [
                    .. cells,
                    lease.Attributes.PublicIPv6 ?? None,
                    lease.Attributes.BackendV6Data?.VtepMac ?? None,
                    lease.IsReservation ? None : EtcdLeaseId(lease.EtcdLeaseId),
                    lease.IsReservation || lease.Expiration is null ? None : Rfc3339(lease.Expiration.Value),
                ];
            }

            table.Add(cells);
        }

        table.WriteTo(writer);
    }

    /// <summary>"reserved" for a reservation, the time left kubectl-style, or "expired" when etcd reports none left.</summary>
    public static string ExpiresIn(Lease lease, DateTimeOffset now) =>
        lease.IsReservation ? "reserved"
        : lease.Expiration is { } expiration ? HumanDuration.Format(expiration - now)
        : lease.EtcdLeaseId != Lease.NoEtcdLease ? "expired"
        : None;

    public static LeaseJson ToJson(Lease lease, DateTimeOffset now) => new()
    {
        Subnet = lease.Subnet.IPv4.ToString(),
        IPv6Subnet = lease.Subnet.IPv6?.ToString(),
        Key = lease.Subnet.ToString(),
        PublicIP = lease.Attributes.PublicIP,
        PublicIPv6 = lease.Attributes.PublicIPv6,
        BackendType = lease.Attributes.BackendType,
        Vni = lease.Attributes.BackendData?.Vni,
        VtepMac = lease.Attributes.BackendData?.VtepMac,
        IPv6VtepMac = lease.Attributes.BackendV6Data?.VtepMac,
        Owner = lease.Attributes.OwnerId,
        Reserved = lease.IsReservation,
        EtcdLease = lease.IsReservation ? null : EtcdLeaseId(lease.EtcdLeaseId),
        Expiration = lease.IsReservation || lease.Expiration is null ? null : Rfc3339(lease.Expiration.Value),
        ExpiresInSeconds = lease.IsReservation || lease.Expiration is null ? null : Math.Max(0, (long)(lease.Expiration.Value - now).TotalSeconds),
    };

    public static LeaseListJson ToJson(LeaseSnapshot snapshot, DateTimeOffset now) =>
        new(Sorted(snapshot.Leases).Select(l => ToJson(l, now)).ToList(), Skipped(snapshot.Skipped));

    public static IReadOnlyList<SkippedJson> Skipped(IEnumerable<SkippedEntry> skipped) =>
        skipped.Select(s => new SkippedJson(s.Key, s.Reason)).ToList();

    /// <summary>kubectl's watch event names.</summary>
    public static string EventType(LeaseChangeKind kind) => kind switch
    {
        LeaseChangeKind.Added => "ADDED",
        LeaseChangeKind.Changed => "MODIFIED",
        LeaseChangeKind.Removed => "DELETED",
        _ => kind.ToString().ToUpperInvariant(),
    };

    /// <summary>The OWNER column of a watch holds at least a default owner id ("m-" and 16 hex digits, overlayd's own).</summary>
    public const int DefaultOwnerWidth = 18;

    /// <summary>
    /// The OWNER column's width for a watch: a default owner id, or the longest owner among the leases present at the
    /// start (node names given with --node-name can be longer). Only a later lease with a longer owner breaks the line.
    /// </summary>
    public static int WatchOwnerWidth(IEnumerable<Lease> leases) =>
        leases.Select(l => l.Attributes.OwnerId?.Length ?? 0).Append(DefaultOwnerWidth).Max();

    /// <summary>
    /// One watch line, fixed-width so a stream stays aligned without knowing what comes next; the field of
    /// varying length (the IPv6 subnet) comes last:
    /// <c>ADDED      198.18.34.0/24       192.0.2.11        0e:2a:11:22:33:44   1        lease      m-594fcc027f512de4   &lt;none&gt;</c>.
    /// </summary>
    public static string WatchLine(LeaseChange change, int ownerWidth = DefaultOwnerWidth)
    {
        Lease shown = change.Lease ?? change.Previous!;
        return WatchCells(
            ownerWidth,
            EventType(change.Kind),
            shown.Subnet.IPv4.ToString(),
            shown.Attributes.PublicIP,
            shown.Attributes.BackendData?.VtepMac ?? None,
            shown.Attributes.BackendData is { } data ? data.Vni.ToString(CultureInfo.InvariantCulture) : None,
            shown.IsReservation ? "reserved" : "lease",
            shown.Attributes.OwnerId ?? None,
            shown.Subnet.IPv6?.ToString() ?? None);
    }

    public static string WatchHeader(int ownerWidth = DefaultOwnerWidth) => WatchCells(ownerWidth, "EVENT", "SUBNET", "PUBLIC IP", "VTEP MAC", "VNI", "KIND", "OWNER", "IPV6 SUBNET");

    private static string WatchCells(int ownerWidth, string kind, string subnet, string publicIP, string mac, string vni, string leaseKind, string owner, string ipv6) =>
        string.Join("   ", kind.PadRight(8), subnet.PadRight(18), publicIP.PadRight(15), mac.PadRight(17), vni.PadRight(6), leaseKind.PadRight(8), owner.PadRight(ownerWidth), ipv6).TrimEnd();

    public static WatchEventJson ToWatchJson(LeaseChange change, long revision, bool initial, DateTimeOffset now) => new(
        EventType(change.Kind),
        Rfc3339(now),
        revision,
        initial,
        (change.Lease ?? change.Previous!).Subnet.IPv4.ToString(),
        change.Lease is { } lease ? ToJson(lease, now) : null,
        change.Previous is { } previous ? ToJson(previous, now) : null);

    /// <summary>The etcd lease id as etcdctl prints it (lower-case hex), e.g. for <c>etcdctl lease timetolive</c>.</summary>
    public static string EtcdLeaseId(long id) => id.ToString("x", CultureInfo.InvariantCulture);

    public static string Rfc3339(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>"node-a (192.0.2.11)", or just the public IP for a lease without an owner id (flannel's).</summary>
    public static string Holder(Lease lease) =>
        lease.Attributes.OwnerId is { } owner ? $"{lease.Attributes.PublicIP} (owner {owner})" : lease.Attributes.PublicIP;
}
