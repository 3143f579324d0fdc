using System.Text.Json;

namespace Overlay.TestKit;

/// <summary>
/// Whether every node's kernel holds exactly what etcd's leases say, as an independent oracle (the end check of the
/// chaos soak, the etcd-cluster and 64-node tests): what every node's kernel should hold for the IPv4 VXLAN backend
/// (flannel.1), read from etcd's lease set with etcdctl, against what `ip -j` and `bridge -j` show in each node.
/// For each lease of another node: a route "SUBNET via SUBNET-BASE" on flannel.1, a neighbour "SUBNET-BASE VTEP-MAC" and
/// an FDB entry "VTEP-MAC PUBLIC-IP"; and nothing else on flannel.1. Every node must also hold a lease of its own.
/// </summary>
public static class KernelAgreement
{
    public const string Device = "flannel.1";

    /// <summary>Every difference between the kernels of <paramref name="nodes"/> and etcd, as sentences; empty when they match.</summary>
    /// <remarks>The nodes are read in parallel, each with one process, so that a check stays short on a loaded machine.</remarks>
    public static IReadOnlyList<string> Differences(OverlayCluster cluster, IEnumerable<ClusterNode>? nodes = null)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        return Differences(Leases(cluster), nodes ?? cluster.Nodes);
    }

    /// <summary>Every difference between the kernels of <paramref name="nodes"/> and <paramref name="leases"/>, read from etcd before.</summary>
    public static IReadOnlyList<string> Differences(IReadOnlyList<PeerLease> leases, IEnumerable<ClusterNode> nodes)
    {
        ArgumentNullException.ThrowIfNull(leases);
        ArgumentNullException.ThrowIfNull(nodes);
        List<ClusterNode> all = nodes.ToList();
        Task<KernelView>[] views = all.Select(n => Task.Run(() => Read(n.Ns))).ToArray();
        var differences = new List<string>();
        for (int i = 0; i < all.Count; i++)
        {
            ClusterNode node = all[i];
            KernelView kernel = views[i].GetAwaiter().GetResult();
            if (!leases.Any(l => l.PublicIP == node.UnderlayAddress))
            {
                differences.Add($"{node.Name}: no lease in etcd with PublicIP {node.UnderlayAddress}");
            }

            IReadOnlyList<PeerLease> peers = leases.Where(l => l.PublicIP != node.UnderlayAddress).ToList();
            if (!kernel.DeviceExists)
            {
                differences.Add($"{node.Name}: no {Device}");
            }

            Compare(differences, node, "route", peers.Select(p => $"{p.Subnet} via {p.Gateway}"), kernel.Routes);
            Compare(differences, node, "neighbour", peers.Select(p => $"{p.Gateway} {p.VtepMac}"), kernel.Neighbours);
            Compare(differences, node, "fdb entry", peers.Select(p => $"{p.VtepMac} {p.PublicIP}"), kernel.Fdb);
        }

        return differences;
    }

    /// <summary>What <see cref="Device"/> holds in the namespace, read with one `ip -j`/`bridge -j` script.</summary>
    public static KernelView Read(NetNs ns)
    {
        ArgumentNullException.ThrowIfNull(ns);
        const string Separator = "@@next@@";
        CommandResult result = ns.Exec("sh", "-c",
            $"ip link show {Device} >/dev/null 2>&1 || exit 3; ip -j -4 route show dev {Device}; echo {Separator}; " +
            $"ip -j -4 neigh show dev {Device}; echo {Separator}; bridge -j fdb show dev {Device}");
        if (result.ExitCode == 3)
        {
            return new KernelView(false, [], [], []);
        }

        string[] parts = result.EnsureSuccess().StdOut.Split(Separator);
        if (parts.Length != 3)
        {
            // The device went away between the commands.
            return new KernelView(false, [], [], []);
        }

        return new KernelView(
            true,
            Json(parts[0]).Select(r => $"{r.GetProperty("dst").GetString()} via {(r.TryGetProperty("gateway", out JsonElement g) ? g.GetString() : "-")}").ToList(),
            Json(parts[1]).Where(n => n.TryGetProperty("lladdr", out _)).Select(n => $"{n.GetProperty("dst").GetString()} {n.GetProperty("lladdr").GetString()}").ToList(),
            Json(parts[2]).Where(f => f.TryGetProperty("dst", out _)).Select(f => $"{f.GetProperty("mac").GetString()} {f.GetProperty("dst").GetString()}").ToList());
    }

    private static List<JsonElement> Json(string text)
    {
        // Some listings print nothing at all instead of "[]" when there is nothing to list.
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        using var document = JsonDocument.Parse(text);
        return document.RootElement.EnumerateArray().Select(e => e.Clone()).ToList();
    }

    /// <summary>The IPv4 leases in etcd that carry a VXLAN VTEP MAC (others are skipped as overlayd skips them).</summary>
    public static IReadOnlyList<PeerLease> Leases(OverlayCluster cluster)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var leases = new List<PeerLease>();
        foreach ((string key, string value) in cluster.LeasesInEtcd())
        {
            // ".../subnets/198.18.34.0-24" (dual stack appends "&2001:db8:...-64")
            string subnet = key[(key.LastIndexOf('/') + 1)..].Split('&')[0];
            int dash = subnet.LastIndexOf('-');
            if (dash < 0)
            {
                continue;
            }

            string network = subnet[..dash];
            try
            {
                using var json = JsonDocument.Parse(value);
                JsonElement root = json.RootElement;
                if (root.TryGetProperty("PublicIP", out JsonElement ip) && ip.ValueKind == JsonValueKind.String
                    && root.TryGetProperty("BackendData", out JsonElement data) && data.ValueKind == JsonValueKind.Object
                    && data.TryGetProperty("VtepMAC", out JsonElement mac) && mac.ValueKind == JsonValueKind.String)
                {
                    leases.Add(new PeerLease($"{network}/{subnet[(dash + 1)..]}", network, ip.GetString()!, mac.GetString()!));
                }
            }
            catch (JsonException)
            {
                // Garbage under the prefix: overlayd skips it too.
            }
        }

        return leases;
    }

    private static void Compare(List<string> differences, ClusterNode node, string what, IEnumerable<string> expected, IEnumerable<string> actual)
    {
        var want = expected.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var have = actual.ToHashSet(StringComparer.OrdinalIgnoreCase);
        differences.AddRange(want.Except(have, StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).Select(e => $"{node.Name}: {what} {e} missing"));
        differences.AddRange(have.Except(want, StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).Select(e => $"{node.Name}: {what} {e} not in etcd"));
    }
}

/// <summary>One node's lease as the kernels of the others should show it.</summary>
/// <param name="Subnet">"198.18.34.0/24"</param>
/// <param name="Gateway">The subnet's base address, the route's gateway and the neighbour's address: "198.18.34.0".</param>
public sealed record PeerLease(string Subnet, string Gateway, string PublicIP, string VtepMac);

/// <summary>What one node's VXLAN device holds: routes "SUBNET via GATEWAY", neighbours "ADDRESS MAC", FDB entries "MAC DST".</summary>
public sealed record KernelView(bool DeviceExists, IReadOnlyList<string> Routes, IReadOnlyList<string> Neighbours, IReadOnlyList<string> Fdb);
