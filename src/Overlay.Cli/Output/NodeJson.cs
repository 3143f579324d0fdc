using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Overlay.Cli.Output;

// The JSON of `node status` and `trace` (docs/cli.md): a stable interface like CliJson.cs's shapes, members only
// ever added, absent values written as null.

/// <summary>One kernel entry: what overlayd would program and what the kernel has, in iproute2's words.</summary>
internal sealed record EntryJson(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("expected")] string? Expected,
    [property: JsonPropertyName("actual")] string? Actual,
    [property: JsonPropertyName("lease")] string? Lease);

internal sealed record DeviceJson(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("present")] bool Present,
    [property: JsonPropertyName("index")] int? Index,
    [property: JsonPropertyName("vni")] long? Vni,
    [property: JsonPropertyName("mac")] string? Mac,
    [property: JsonPropertyName("mtu")] int? Mtu,
    [property: JsonPropertyName("local")] string? Local,
    [property: JsonPropertyName("port")] int? Port,
    [property: JsonPropertyName("up")] bool? Up,
    [property: JsonPropertyName("addresses")] IReadOnlyList<string> Addresses,
    [property: JsonPropertyName("problems")] IReadOnlyList<string> Problems);

internal sealed record PeerJson(
    [property: JsonPropertyName("subnet")] string Subnet,
    [property: JsonPropertyName("lease")] string Lease,
    [property: JsonPropertyName("family")] string Family,
    [property: JsonPropertyName("publicIP")] string? PublicIP,
    [property: JsonPropertyName("vtepMAC")] string? VtepMac,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("route")] EntryJson? Route,
    [property: JsonPropertyName("neighbour")] EntryJson? Neighbour,
    [property: JsonPropertyName("fdb")] EntryJson? Fdb);

internal sealed record NodeCountsJson(
    [property: JsonPropertyName("peers")] int Peers,
    [property: JsonPropertyName("ok")] int Ok,
    [property: JsonPropertyName("broken")] int Broken,
    [property: JsonPropertyName("skipped")] int Skipped,
    [property: JsonPropertyName("missing")] int Missing,
    [property: JsonPropertyName("stale")] int Stale,
    [property: JsonPropertyName("foreign")] int Foreign);

internal sealed record NftJson(
    [property: JsonPropertyName("tables")] IReadOnlyList<string> Tables,
    [property: JsonPropertyName("error")] string? Error);

/// <summary>The key metrics; each null when overlayd did not report it or its value is not a finite number.</summary>
internal sealed record MetricsJson(
    [property: JsonPropertyName("overlay_ready")] double? Ready,
    [property: JsonPropertyName("overlay_peers_programmed")] double? PeersProgrammed,
    [property: JsonPropertyName("overlay_leases_skipped")] double? LeasesSkipped,
    [property: JsonPropertyName("overlay_repairs_total")] double? RepairsTotal,
    [property: JsonPropertyName("overlay_etcd_reachable")] double? EtcdReachable,
    [property: JsonPropertyName("overlay_etcd_errors_total")] double? EtcdErrorsTotal,
    [property: JsonPropertyName("overlay_lease_expiry_seconds")] double? LeaseExpirySeconds,
    [property: JsonPropertyName("overlay_reconcile_last_duration_seconds")] double? ReconcileLastDurationSeconds,
    [property: JsonPropertyName("overlay_watch_lag_seconds")] double? WatchLagSeconds);

internal sealed record OverlaydJson(
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("reachable")] bool Reachable,
    [property: JsonPropertyName("error")] string? Error,
    [property: JsonPropertyName("ready")] bool? Ready,
    [property: JsonPropertyName("readyz")] string? Readyz,
    [property: JsonPropertyName("metrics")] MetricsJson? Metrics);

/// <summary><c>overlayctl node status -o json</c>.</summary>
internal sealed record NodeStatusJson(
    [property: JsonPropertyName("matches")] bool Matches,
    [property: JsonPropertyName("netns")] string? Netns,
    [property: JsonPropertyName("lease")] LeaseJson? Lease,
    [property: JsonPropertyName("leaseFoundBy")] string LeaseFoundBy,
    [property: JsonPropertyName("devices")] IReadOnlyList<DeviceJson> Devices,
    [property: JsonPropertyName("problems")] IReadOnlyList<string> Problems,
    [property: JsonPropertyName("counts")] NodeCountsJson Counts,
    [property: JsonPropertyName("peers")] IReadOnlyList<PeerJson> Peers,
    [property: JsonPropertyName("missing")] IReadOnlyList<EntryJson> Missing,
    [property: JsonPropertyName("stale")] IReadOnlyList<EntryJson> Stale,
    [property: JsonPropertyName("foreign")] IReadOnlyList<EntryJson> Foreign,
    [property: JsonPropertyName("nftables")] NftJson Nftables,
    [property: JsonPropertyName("overlayd")] OverlaydJson? Overlayd);

/// <summary>An end of a traced path: the address, and the lease and node it belongs to (null when none).</summary>
internal sealed record TraceEndJson(
    [property: JsonPropertyName("address")] string Address,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("subnet")] string? Subnet,
    [property: JsonPropertyName("lease")] string? Lease,
    [property: JsonPropertyName("node")] string? Node,
    [property: JsonPropertyName("vtepMAC")] string? VtepMac,
    [property: JsonPropertyName("thisNode")] bool ThisNode);

internal sealed record TraceServiceJson(
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("clusterIP")] string ClusterIP,
    [property: JsonPropertyName("endpoints")] IReadOnlyList<EndpointJson> Endpoints);

/// <summary>The path from the source node to one destination (the address, or one endpoint of a ClusterIP).</summary>
internal sealed record TracePathJson(
    [property: JsonPropertyName("destination")] TraceEndJson Destination,
    [property: JsonPropertyName("whole")] bool Whole,
    [property: JsonPropertyName("breaksAt")] string? BreaksAt,
    [property: JsonPropertyName("entries")] IReadOnlyList<EntryJson> Entries,
    [property: JsonPropertyName("kernelRoute")] string? KernelRoute,
    [property: JsonPropertyName("explanation")] string Explanation);

/// <summary><c>overlayctl trace -o json</c>.</summary>
internal sealed record TraceJson(
    [property: JsonPropertyName("whole")] bool Whole,
    [property: JsonPropertyName("source")] TraceEndJson Source,
    [property: JsonPropertyName("destination")] TraceEndJson Destination,
    [property: JsonPropertyName("service")] TraceServiceJson? Service,
    [property: JsonPropertyName("paths")] IReadOnlyList<TracePathJson> Paths,
    [property: JsonPropertyName("verdict")] string Verdict);

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(NodeStatusJson))]
[JsonSerializable(typeof(TraceJson))]
internal sealed partial class NodeJsonContext : JsonSerializerContext
{
    public static NodeJsonContext Document { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    public static string Write(NodeStatusJson value) => JsonSerializer.Serialize(value, Document.NodeStatusJson) + "\n";

    public static string Write(TraceJson value) => JsonSerializer.Serialize(value, Document.TraceJson) + "\n";
}
