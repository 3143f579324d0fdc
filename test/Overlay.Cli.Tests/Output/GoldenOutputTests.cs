using Overlay.Cli.Inspection;
using Overlay.Cli.Output;
using Overlay.Core.Config;
using Overlay.Leases;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;

namespace Overlay.Cli.Tests.Output;

/// <summary>Table and JSON output, byte for byte, from leases built in memory at a fixed time.</summary>
public sealed class GoldenOutputTests
{
    private static string Table(bool wide)
    {
        var writer = new StringWriter();
        LeaseView.WriteTable(writer, Samples.Three(), Cli.Now, wide);
        return writer.ToString();
    }

    [Test]
    public void The_lease_table_is_sorted_by_subnet_and_shows_time_left_or_reserved()
    {
        Assert.That(Table(wide: false), Is.EqualTo("""
            SUBNET           IPV6 SUBNET         PUBLIC IP       VTEP MAC            VNI      OWNER    EXPIRES IN
            198.18.9.0/24    <none>              192.0.2.19      <none>              <none>   <none>   reserved
            198.18.10.0/24   2001:db8:0:a::/64   198.51.100.10   0e:2a:00:00:00:0a   1        node-c   5m3s
            198.18.34.0/24   <none>              192.0.2.11      0e:2a:11:22:33:44   1        node-a   23h59m
            """.Replace("\r", "") + "\n"));
    }

    [Test]
    public void The_wide_table_adds_IPv6_address_and_MAC_etcd_lease_and_expiry_time()
    {
        Assert.That(Table(wide: true), Is.EqualTo("""
            SUBNET           IPV6 SUBNET         PUBLIC IP       VTEP MAC            VNI      OWNER    EXPIRES IN   PUBLIC IPV6    IPV6 VTEP MAC       ETCD LEASE         EXPIRES AT
            198.18.9.0/24    <none>              192.0.2.19      <none>              <none>   <none>   reserved     <none>         <none>              <none>             <none>
            198.18.10.0/24   2001:db8:0:a::/64   198.51.100.10   0e:2a:00:00:00:0a   1        node-c   5m3s         2001:db8::10   0e:2a:00:00:01:0a   694d7a1b2c3d4e60   2026-11-25T09:05:03Z
            198.18.34.0/24   <none>              192.0.2.11      0e:2a:11:22:33:44   1        node-a   23h59m       <none>         <none>              694d7a1b2c3d4e5f   2026-11-26T08:59:30Z
            """.Replace("\r", "") + "\n"));
    }

    [Test]
    public void The_lease_list_JSON_has_every_member_even_when_null()
    {
        var snapshot = new LeaseSnapshot(Samples.Three(), 42, [new SkippedEntry("/coreos.com/network/subnets/bogus", "not a lease key")]);

        Assert.That(Json.Document(LeaseView.ToJson(snapshot, Cli.Now)), Is.EqualTo("""
            {
              "leases": [
                {
                  "subnet": "198.18.9.0/24",
                  "ipv6Subnet": null,
                  "key": "198.18.9.0-24",
                  "publicIP": "192.0.2.19",
                  "publicIPv6": null,
                  "backendType": "vxlan",
                  "vni": null,
                  "vtepMAC": null,
                  "ipv6VtepMAC": null,
                  "owner": null,
                  "reserved": true,
                  "etcdLease": null,
                  "expiration": null,
                  "expiresInSeconds": null
                },
                {
                  "subnet": "198.18.10.0/24",
                  "ipv6Subnet": "2001:db8:0:a::/64",
                  "key": "198.18.10.0-24&2001:db8:0:a::-64",
                  "publicIP": "198.51.100.10",
                  "publicIPv6": "2001:db8::10",
                  "backendType": "vxlan",
                  "vni": 1,
                  "vtepMAC": "0e:2a:00:00:00:0a",
                  "ipv6VtepMAC": "0e:2a:00:00:01:0a",
                  "owner": "node-c",
                  "reserved": false,
                  "etcdLease": "694d7a1b2c3d4e60",
                  "expiration": "2026-11-25T09:05:03Z",
                  "expiresInSeconds": 303
                },
                {
                  "subnet": "198.18.34.0/24",
                  "ipv6Subnet": null,
                  "key": "198.18.34.0-24",
                  "publicIP": "192.0.2.11",
                  "publicIPv6": null,
                  "backendType": "vxlan",
                  "vni": 1,
                  "vtepMAC": "0e:2a:11:22:33:44",
                  "ipv6VtepMAC": null,
                  "owner": "node-a",
                  "reserved": false,
                  "etcdLease": "694d7a1b2c3d4e5f",
                  "expiration": "2026-11-26T08:59:30Z",
                  "expiresInSeconds": 86370
                }
              ],
              "skipped": [
                {
                  "key": "/coreos.com/network/subnets/bogus",
                  "reason": "not a lease key"
                }
              ]
            }
            """ + "\n"));
    }

    [Test]
    public void Watch_lines_are_fixed_width_with_kubectl_event_names()
    {
        IReadOnlyList<Overlay.Core.Leases.Lease> leases = Samples.Three();
        var lines = new[]
        {
            LeaseView.WatchHeader(),
            LeaseView.WatchLine(new LeaseChange(LeaseChangeKind.Added, leases[0].Subnet, leases[0], null)),
            LeaseView.WatchLine(new LeaseChange(LeaseChangeKind.Changed, leases[1].Subnet, leases[1], leases[1])),
            LeaseView.WatchLine(new LeaseChange(LeaseChangeKind.Removed, leases[2].Subnet, null, leases[2])),
        };

        Assert.That(string.Join("\n", lines) + "\n", Is.EqualTo("""
            EVENT      SUBNET               PUBLIC IP         VTEP MAC            VNI      KIND       OWNER                IPV6 SUBNET
            ADDED      198.18.34.0/24       192.0.2.11        0e:2a:11:22:33:44   1        lease      node-a               <none>
            MODIFIED   198.18.9.0/24        192.0.2.19        <none>              <none>   reserved   <none>               <none>
            DELETED    198.18.10.0/24       198.51.100.10     0e:2a:00:00:00:0a   1        lease      node-c               2001:db8:0:a::/64
            """ + "\n"));
    }

    [Test]
    public void Watch_columns_stay_aligned_with_overlayds_default_owner_ids()
    {
        Overlay.Core.Leases.Lease lease = Samples.Three()[0];
        Overlay.Core.Leases.Lease defaultOwner = lease with { Attributes = lease.Attributes with { OwnerId = "m-594fcc027f512de4" } };
        Overlay.Core.Leases.Lease noOwner = lease with { Attributes = lease.Attributes with { OwnerId = null } };
        int width = LeaseView.WatchOwnerWidth([defaultOwner, noOwner]);

        string[] lines =
        [
            LeaseView.WatchHeader(width),
            LeaseView.WatchLine(new LeaseChange(LeaseChangeKind.Added, lease.Subnet, defaultOwner, null), width),
            LeaseView.WatchLine(new LeaseChange(LeaseChangeKind.Added, lease.Subnet, noOwner, null), width),
        ];

        int ipv6Column = lines[0].IndexOf("IPV6 SUBNET", StringComparison.Ordinal);
        Assert.That(lines.Skip(1).Select(l => l.LastIndexOf("<none>", StringComparison.Ordinal)), Has.All.EqualTo(ipv6Column), string.Join("\n", lines));
        Assert.That(lines[1], Is.EqualTo("ADDED      198.18.34.0/24       192.0.2.11        0e:2a:11:22:33:44   1        lease      m-594fcc027f512de4   <none>"));
    }

    [Test]
    public void A_longer_owner_present_at_the_start_of_a_watch_widens_the_owner_column()
    {
        Overlay.Core.Leases.Lease lease = Samples.Three()[0];
        Overlay.Core.Leases.Lease named = lease with { Attributes = lease.Attributes with { OwnerId = "worker-17.rack-4.example.test" } };
        int width = LeaseView.WatchOwnerWidth([named]);

        string header = LeaseView.WatchHeader(width);
        string line = LeaseView.WatchLine(new LeaseChange(LeaseChangeKind.Added, lease.Subnet, named, null), width);

        Assert.That(width, Is.EqualTo("worker-17.rack-4.example.test".Length));
        Assert.That(line.IndexOf("<none>", StringComparison.Ordinal), Is.EqualTo(header.IndexOf("IPV6 SUBNET", StringComparison.Ordinal)));
        Assert.That(LeaseView.WatchOwnerWidth([]), Is.EqualTo(18), "at least a default owner id");
    }

    [Test]
    public void A_watch_JSON_line_carries_type_time_revision_and_both_versions_of_the_lease()
    {
        Overlay.Core.Leases.Lease before = Samples.Reservation("198.18.9.0-24", "192.0.2.19");
        Overlay.Core.Leases.Lease after = before with { Attributes = before.Attributes with { OwnerId = "node-i" } };

        string line = Json.Line(LeaseView.ToWatchJson(new LeaseChange(LeaseChangeKind.Changed, after.Subnet, after, before), 17, initial: false, Cli.Now));

        Assert.That(line, Is.EqualTo("""
            {"type":"MODIFIED","time":"2026-11-25T09:00:00Z","revision":17,"initial":false,"subnet":"198.18.9.0/24","lease":{"subnet":"198.18.9.0/24","ipv6Subnet":null,"key":"198.18.9.0-24","publicIP":"192.0.2.19","publicIPv6":null,"backendType":"vxlan","vni":null,"vtepMAC":null,"ipv6VtepMAC":null,"owner":"node-i","reserved":true,"etcdLease":null,"expiration":null,"expiresInSeconds":null},"previous":{"subnet":"198.18.9.0/24","ipv6Subnet":null,"key":"198.18.9.0-24","publicIP":"192.0.2.19","publicIPv6":null,"backendType":"vxlan","vni":null,"vtepMAC":null,"ipv6VtepMAC":null,"owner":null,"reserved":true,"etcdLease":null,"expiration":null,"expiresInSeconds":null}}
            """ + "\n"));
    }

    [Test]
    public void The_status_text_counts_subnets_and_lists_leases_near_expiry_and_reservations()
    {
        NetworkConfig config = NetworkConfigParser.Parse("""{"Network":"198.18.0.0/16","SubnetMax":"198.18.64.0","Backend":{"Type":"vxlan","VNI":1}}""");
        var snapshot = new LeaseSnapshot([.. Samples.Three(), Samples.Reservation("198.18.100.0-24", "192.0.2.100")], 42, []);
        var status = NetworkStatus.Compute("/coreos.com/network", config, snapshot, Cli.Now, TimeSpan.FromHours(1));
        var writer = new StringWriter();

        status.WriteText(writer, Cli.Now);

        Assert.That(writer.ToString(), Is.EqualTo("""
            Prefix:       /coreos.com/network
            Network:      198.18.0.0/16, /24 subnets from 198.18.1.0 to 198.18.64.0
            Backend:      vxlan, VNI 1, port 8472
            Subnets:      3 used, 61 free of 64
            Leases:       2 leases, 2 reservations

            Expiring within the renew margin (1h): 1
              SUBNET           IPV6 SUBNET         PUBLIC IP       VTEP MAC            VNI   OWNER    EXPIRES IN
              198.18.10.0/24   2001:db8:0:a::/64   198.51.100.10   0e:2a:00:00:00:0a   1     node-c   5m3s
            Reservations: 2
              SUBNET            IPV6 SUBNET   PUBLIC IP     VTEP MAC   VNI      OWNER    EXPIRES IN
              198.18.9.0/24     <none>        192.0.2.19    <none>     <none>   <none>   reserved
              198.18.100.0/24   <none>        192.0.2.100   <none>     <none>   <none>   reserved
            Outside the network config (their owners give them up on restart): 1
              SUBNET            IPV6 SUBNET   PUBLIC IP     VTEP MAC   VNI      OWNER    EXPIRES IN
              198.18.100.0/24   <none>        192.0.2.100   <none>     <none>   <none>   reserved
            """ + "\n"));
    }

    [Test]
    public void The_status_JSON_has_the_resolved_config_and_subnet_counts()
    {
        NetworkConfig config = NetworkConfigParser.Parse("""{"Network":"198.18.0.0/16","SubnetMax":"198.18.64.0","Backend":{"Type":"vxlan","VNI":1}}""");
        var snapshot = new LeaseSnapshot([Samples.Three()[1]], 42, []);
        var status = NetworkStatus.Compute("/coreos.com/network", config, snapshot, Cli.Now, TimeSpan.FromHours(1));

        Assert.That(Json.Document(status.ToJson(Cli.Now)), Is.EqualTo("""
            {
              "prefix": "/coreos.com/network",
              "config": {
                "network": "198.18.0.0/16",
                "subnetLen": 24,
                "subnetMin": "198.18.1.0",
                "subnetMax": "198.18.64.0",
                "ipv6": null,
                "backend": {
                  "type": "vxlan",
                  "vni": 1,
                  "port": 8472,
                  "mtu": 0,
                  "gbp": false,
                  "learning": false,
                  "directRouting": false
                },
                "serviceNetwork": null,
                "serviceIPv6Network": null,
                "clusterDomain": "cluster.local",
                "clusterDNS": null
              },
              "subnets": {
                "total": 64,
                "used": 1,
                "free": 63
              },
              "leases": 0,
              "renewMarginSeconds": 3600,
              "expiringSoon": [],
              "reservations": [
                {
                  "subnet": "198.18.9.0/24",
                  "ipv6Subnet": null,
                  "key": "198.18.9.0-24",
                  "publicIP": "192.0.2.19",
                  "publicIPv6": null,
                  "backendType": "vxlan",
                  "vni": null,
                  "vtepMAC": null,
                  "ipv6VtepMAC": null,
                  "owner": null,
                  "reserved": true,
                  "etcdLease": null,
                  "expiration": null,
                  "expiresInSeconds": null
                }
              ],
              "outsideConfig": [],
              "skipped": []
            }
            """ + "\n"));
    }

    [TestCase(0, "0s")]
    [TestCase(-5, "0s")]
    [TestCase(45, "45s")]
    [TestCase(303, "5m3s")]
    [TestCase(300, "5m")]
    [TestCase(3600, "1h")]
    [TestCase(86399, "23h59m")]
    [TestCase(86400, "1d")]
    [TestCase(97200, "1d3h")]
    [TestCase(90061, "1d1h")]
    public void Time_left_is_shown_in_two_units_like_kubectl(int seconds, string expected)
    {
        Assert.That(HumanDuration.Format(TimeSpan.FromSeconds(seconds)), Is.EqualTo(expected));
    }

    [Test]
    public void An_empty_table_prints_nothing()
    {
        var writer = new StringWriter();
        LeaseView.WriteTable(writer, [], Cli.Now, wide: false);
        Assert.That(writer.ToString(), Is.Empty);
    }
}
