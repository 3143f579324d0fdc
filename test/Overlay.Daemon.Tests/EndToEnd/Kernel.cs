using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>Reads a node's kernel state with ip -j and bridge -j: the independent oracle.</summary>
internal static class Kernel
{
    public const string Device = "flannel.1";

    public static List<string> RoutesOnDevice(NetNs ns) =>
        ns.IpJson("route", "show", "dev", Device).EnumerateArray()
            .Select(r => $"{r.GetProperty("dst").GetString()} via {(r.TryGetProperty("gateway", out JsonElement g) ? g.GetString() : "-")}")
            .ToList();

    public static List<string> Neighbours(NetNs ns) =>
        ns.IpJson("neigh", "show", "dev", Device).EnumerateArray()
            .Where(n => n.TryGetProperty("lladdr", out _))
            .Select(n => $"{n.GetProperty("dst").GetString()} {n.GetProperty("lladdr").GetString()}")
            .ToList();

    /// <summary>FDB entries with a destination (the peers' VTEPs) on <paramref name="device"/>, as "MAC DST".</summary>
    public static List<string> Fdb(NetNs ns, string device = Device) =>
        ns.BridgeJson("fdb", "show", "dev", device).EnumerateArray()
            .Where(f => f.TryGetProperty("dst", out _))
            .Select(f => $"{f.GetProperty("mac").GetString()} {f.GetProperty("dst").GetString()}")
            .ToList();

    public static string LeaseAddress(ClusterNode node) => node.LeaseSubnet.Split('/')[0];

    /// <summary>True when the node routes to every other node's subnet through the VXLAN device.</summary>
    public static bool RoutesToAll(ClusterNode node, IEnumerable<ClusterNode> others)
    {
        List<string> routes = RoutesOnDevice(node.Ns);
        return others.Where(o => o != node).All(o => routes.Contains($"{o.LeaseSubnet} via {LeaseAddress(o)}"));
    }

    /// <summary>GET a path of the node's health endpoint from inside its namespace (bash's /dev/tcp; no curl needed).</summary>
    public static string HttpGet(ClusterNode node, string path) =>
        node.Ns.Exec("bash", "-c", $"exec 3<>/dev/tcp/{node.UnderlayAddress}/9100 && printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3").StdOut;
}
