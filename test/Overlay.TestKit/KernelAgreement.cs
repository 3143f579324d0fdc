using System.Text.Json;

namespace Overlay.TestKit;

/// <summary>
/// Whether every node's kernel holds exactly what etcd's leases say (IPv4, VXLAN): for each other node's lease a route
/// "SUBNET via SUBNET-ADDRESS" on flannel.1, a neighbour "SUBNET-ADDRESS VtepMAC" and an FDB entry "VtepMAC PublicIP",
/// and nothing else there. etcd is read with etcdctl and the kernel with ip -j / bridge -j: both independent of overlayd.
/// </summary>
public static class KernelAgreement
{
    public const string Device = "flannel.1";

    /// <summary>Every difference between etcd's leases and the kernels of <paramref name="nodes"/> (all of the cluster's by default); empty when they agree.</summary>
    public static IReadOnlyList<string> Differences(OverlayCluster cluster, IEnumerable<ClusterNode>? nodes = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        List<(string Subnet, string PublicIP, string Mac)> leases = Leases(cluster.LeasesInEtcd());
        var differences = new List<string>();
        foreach (ClusterNode node in nodes ?? cluster.Nodes)
        {
            var others = leases.Where(l => l.PublicIP != node.UnderlayAddress).ToList();
            Compare(differences, node, "route", others.Select(l => $"{l.Subnet} via {l.Subnet.Split('/')[0]}"), Routes(node.Ns));
            Compare(differences, node, "neighbour", others.Select(l => $"{l.Subnet.Split('/')[0]} {l.Mac}"), Neighbours(node.Ns));
            Compare(differences, node, "fdb", others.Select(l => $"{l.Mac} {l.PublicIP}"), Fdb(node.Ns));
        }

        return differences;
    }

    /// <summary>The leases' subnet, public IP and VTEP MAC (leases without a MAC, e.g. reservations, are left out).</summary>
    private static List<(string Subnet, string PublicIP, string Mac)> Leases(IReadOnlyDictionary<string, string> inEtcd)
    {
        var leases = new List<(string, string, string)>();
        foreach ((string key, string value) in inEtcd)
        {
            using var json = JsonDocument.Parse(value);
            if (json.RootElement.TryGetProperty("BackendData", out JsonElement backend) && backend.ValueKind == JsonValueKind.Object
                && backend.TryGetProperty("VtepMAC", out JsonElement mac) && mac.GetString() is { } vtepMac)
            {
                // ".../subnets/198.18.34.0-24" (dual stack appends "&2001:db8:...-64")
                string subnet = key[(key.LastIndexOf('/') + 1)..].Split('&')[0].Replace('-', '/');
                leases.Add((subnet, json.RootElement.GetProperty("PublicIP").GetString()!, vtepMac));
            }
        }

        return leases;
    }

    private static void Compare(List<string> differences, ClusterNode node, string kind, IEnumerable<string> expected, IEnumerable<string> actual)
    {
        var want = expected.ToHashSet(StringComparer.Ordinal);
        var have = actual.ToHashSet(StringComparer.Ordinal);
        differences.AddRange(want.Except(have).Order(StringComparer.Ordinal).Select(e => $"{node.Name}: {kind} {e} missing"));
        differences.AddRange(have.Except(want).Order(StringComparer.Ordinal).Select(e => $"{node.Name}: {kind} {e} not in etcd"));
    }

    private static IEnumerable<string> Routes(NetNs ns) =>
        ns.IpJson("route", "show", "dev", Device).EnumerateArray()
            .Select(r => $"{r.GetProperty("dst").GetString()} via {(r.TryGetProperty("gateway", out JsonElement g) ? g.GetString() : "-")}");

    private static IEnumerable<string> Neighbours(NetNs ns) =>
        ns.IpJson("neigh", "show", "dev", Device).EnumerateArray()
            .Where(n => n.TryGetProperty("lladdr", out _))
            .Select(n => $"{n.GetProperty("dst").GetString()} {n.GetProperty("lladdr").GetString()}");

    private static IEnumerable<string> Fdb(NetNs ns) =>
        ns.BridgeJson("fdb", "show", "dev", Device).EnumerateArray()
            .Where(f => f.TryGetProperty("dst", out _))
            .Select(f => $"{f.GetProperty("mac").GetString()} {f.GetProperty("dst").GetString()}");
}
