using System.Globalization;
using System.Text.Json;

namespace Overlay.TestKit;

/// <summary>
/// A whole cluster starting at once (after a power cut): every overlayd started at one moment, and the checks that
/// follow: who is ready, who logged an error, and whether each node's kernel holds every other lease.
/// </summary>
public static class ManyNodes
{
    /// <summary>
    /// Starts overlayd on <paramref name="nodes"/> (default: every node) at one moment: one thread per node, all
    /// released together once each is waiting. Returns the moment of release (local time, as overlayd logs it).
    /// </summary>
    public static DateTime StartDaemonsTogether(this OverlayCluster cluster, IReadOnlyList<ClusterNode>? nodes = null, params string[] extraArgs)
    {
        IReadOnlyList<ClusterNode> starting = nodes ?? cluster.Nodes;
        using var waiting = new CountdownEvent(starting.Count);
        using var go = new ManualResetEventSlim();
        var failures = new List<Exception>();
        var threads = starting.Select(node => new Thread(() =>
        {
            waiting.Signal();
            go.Wait();
            try
            {
                node.StartDaemon(extraArgs);
            }
            catch (Exception e)
            {
                lock (failures)
                {
                    failures.Add(e);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        waiting.Wait();
        DateTime released = DateTime.Now;
        go.Set();
        threads.ForEach(t => t.Join());
        return failures.Count == 0 ? released : throw new AggregateException("overlayd did not start on every node", failures);
    }

    /// <summary>overlayd's error lines (the console's "fail:" and "crit:"), each prefixed with the node's name.</summary>
    public static IReadOnlyList<string> ErrorLines(IEnumerable<ClusterNode> nodes) =>
        nodes.SelectMany(n => n.DaemonOutput.Split('\n')
                .Where(l => l.Contains(" fail: ", StringComparison.Ordinal) || l.Contains(" crit: ", StringComparison.Ordinal))
                .Select(l => $"{n.Name}: {l.Trim()}"))
            .ToList();

    /// <summary>True once overlayd printed its "ready:" line.</summary>
    public static bool IsReady(ClusterNode node) => node.DaemonOutput.Contains(" ready: ", StringComparison.Ordinal);

    /// <summary>
    /// The local time overlayd printed (its "HH:mm:ss.fff " prefix) on its first line containing <paramref name="text"/>,
    /// on the day of <paramref name="near"/>; null when no line has it.
    /// </summary>
    public static DateTime? LoggedAt(ClusterNode node, string text, DateTime near)
    {
        string? line = node.DaemonOutput.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
        if (line is null || line.Trim().Split(' ')[0] is not { Length: 12 } stamp
            || !TimeOnly.TryParseExact(stamp, "HH:mm:ss.fff", CultureInfo.InvariantCulture, DateTimeStyles.None, out TimeOnly time))
        {
            return null;
        }

        DateTime at = near.Date + time.ToTimeSpan();
        return at - near > TimeSpan.FromHours(12) ? at.AddDays(-1) : near - at > TimeSpan.FromHours(12) ? at.AddDays(1) : at;
    }

    /// <summary>
    /// What a node's kernel should hold for every lease in etcd but its own, flannel's three entries per peer on
    /// <paramref name="device"/>: route "SUBNET via ADDRESS", neighbour "ADDRESS MAC", FDB "MAC PUBLICIP".
    /// </summary>
    public static PeerEntries Expected(IReadOnlyDictionary<string, string> leasesInEtcd, string ownLeaseSubnet)
    {
        var expected = new PeerEntries();
        foreach ((string key, string value) in leasesInEtcd)
        {
            string subnet = key[(key.LastIndexOf('/') + 1)..].Split('&')[0].Replace('-', '/');
            if (subnet == ownLeaseSubnet)
            {
                continue;
            }

            using var json = JsonDocument.Parse(value);
            string mac = json.RootElement.GetProperty("BackendData").GetProperty("VtepMAC").GetString()!;
            string publicIp = json.RootElement.GetProperty("PublicIP").GetString()!;
            string address = subnet.Split('/')[0];
            expected.Routes.Add($"{subnet} via {address}");
            expected.Neighbours.Add($"{address} {mac}");
            expected.Fdb.Add($"{mac} {publicIp}");
        }

        return expected;
    }

    /// <summary>The peer entries a namespace's kernel holds on <paramref name="device"/>, read with ip -j and bridge -j.</summary>
    public static PeerEntries Read(NetNs ns, string device = "flannel.1")
    {
        var held = new PeerEntries();
        foreach (JsonElement r in ns.IpJson("route", "show", "dev", device).EnumerateArray())
        {
            held.Routes.Add($"{r.GetProperty("dst").GetString()} via {(r.TryGetProperty("gateway", out JsonElement g) ? g.GetString() : "-")}");
        }

        foreach (JsonElement n in ns.IpJson("neigh", "show", "dev", device).EnumerateArray().Where(n => n.TryGetProperty("lladdr", out _)))
        {
            held.Neighbours.Add($"{n.GetProperty("dst").GetString()} {n.GetProperty("lladdr").GetString()}");
        }

        foreach (JsonElement f in ns.BridgeJson("fdb", "show", "dev", device).EnumerateArray().Where(f => f.TryGetProperty("dst", out _)))
        {
            held.Fdb.Add($"{f.GetProperty("mac").GetString()} {f.GetProperty("dst").GetString()}");
        }

        return held;
    }

    /// <summary>What <paramref name="node"/>'s kernel lacks or has beyond <paramref name="expected"/>, or null when it holds exactly that.</summary>
    public static string? Difference(ClusterNode node, PeerEntries expected)
    {
        PeerEntries held = Read(node.Ns);
        var lines = new List<string>();
        Describe("routes", expected.Routes, held.Routes, lines);
        Describe("neighbours", expected.Neighbours, held.Neighbours, lines);
        Describe("FDB entries", expected.Fdb, held.Fdb, lines);
        return lines.Count == 0 ? null : $"{node.Name}: {string.Join("; ", lines)}";
    }

    private static void Describe(string what, HashSet<string> expected, HashSet<string> held, List<string> lines)
    {
        string[] missing = [.. expected.Except(held).Order(StringComparer.Ordinal)];
        string[] extra = [.. held.Except(expected).Order(StringComparer.Ordinal)];
        if (missing.Length > 0)
        {
            lines.Add($"{missing.Length} {what} missing ({string.Join(", ", missing.Take(3))}{(missing.Length > 3 ? ", ..." : "")})");
        }

        if (extra.Length > 0)
        {
            lines.Add($"{extra.Length} {what} too many ({string.Join(", ", extra.Take(3))}{(extra.Length > 3 ? ", ..." : "")})");
        }
    }
}

/// <summary>A node's peer entries on the VXLAN device, as <see cref="ManyNodes"/> writes them.</summary>
public sealed class PeerEntries
{
    public HashSet<string> Routes { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Neighbours { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Fdb { get; } = new(StringComparer.Ordinal);
}
