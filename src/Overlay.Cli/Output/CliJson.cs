using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Overlay.Cli.Output;

// The JSON overlayctl prints. These shapes are a stable interface (docs/cli.md): members are only ever
// added, never renamed or removed, and absent values are written as null rather than left out.

/// <summary>One lease or reservation.</summary>
internal sealed record LeaseJson
{
    [JsonPropertyName("subnet")]
    public required string Subnet { get; init; }

    [JsonPropertyName("ipv6Subnet")]
    public string? IPv6Subnet { get; init; }

    /// <summary>The key under &lt;prefix&gt;/subnets/, e.g. 198.18.34.0-24.</summary>
    [JsonPropertyName("key")]
    public required string Key { get; init; }

    [JsonPropertyName("publicIP")]
    public required string PublicIP { get; init; }

    [JsonPropertyName("publicIPv6")]
    public string? PublicIPv6 { get; init; }

    [JsonPropertyName("backendType")]
    public string? BackendType { get; init; }

    [JsonPropertyName("vni")]
    public int? Vni { get; init; }

    [JsonPropertyName("vtepMAC")]
    public string? VtepMac { get; init; }

    [JsonPropertyName("ipv6VtepMAC")]
    public string? IPv6VtepMac { get; init; }

    [JsonPropertyName("owner")]
    public string? Owner { get; init; }

    [JsonPropertyName("reserved")]
    public bool Reserved { get; init; }

    /// <summary>The etcd lease id in hex, as etcdctl shows it; null for a reservation.</summary>
    [JsonPropertyName("etcdLease")]
    public string? EtcdLease { get; init; }

    /// <summary>RFC 3339, UTC, whole seconds; null for a reservation or when etcd reports no time left.</summary>
    [JsonPropertyName("expiration")]
    public string? Expiration { get; init; }

    [JsonPropertyName("expiresInSeconds")]
    public long? ExpiresInSeconds { get; init; }
}

/// <summary>An etcd entry under the subnets folder that is not a lease.</summary>
internal sealed record SkippedJson(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("reason")] string Reason);

internal sealed record LeaseListJson(
    [property: JsonPropertyName("leases")] IReadOnlyList<LeaseJson> Leases,
    [property: JsonPropertyName("skipped")] IReadOnlyList<SkippedJson> Skipped);

/// <summary>One line of <c>leases watch -o json</c>.</summary>
internal sealed record WatchEventJson(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("time")] string Time,
    [property: JsonPropertyName("revision")] long Revision,
    [property: JsonPropertyName("initial")] bool Initial,
    [property: JsonPropertyName("subnet")] string Subnet,
    [property: JsonPropertyName("lease")] LeaseJson? Lease,
    [property: JsonPropertyName("previous")] LeaseJson? Previous);

internal sealed record GcCandidateJson(
    [property: JsonPropertyName("lease")] LeaseJson Lease,
    [property: JsonPropertyName("reasons")] IReadOnlyList<string> Reasons,
    [property: JsonPropertyName("result")] string? Result);

internal sealed record GcJson(
    [property: JsonPropertyName("applied")] bool Applied,
    [property: JsonPropertyName("renewMarginSeconds")] long RenewMarginSeconds,
    [property: JsonPropertyName("candidates")] IReadOnlyList<GcCandidateJson> Candidates);

internal sealed record BackendJson(
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("vni")] int Vni,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("mtu")] int Mtu,
    [property: JsonPropertyName("gbp")] bool Gbp,
    [property: JsonPropertyName("learning")] bool Learning,
    [property: JsonPropertyName("directRouting")] bool DirectRouting);

internal sealed record NetworkRangeJson(
    [property: JsonPropertyName("network")] string Network,
    [property: JsonPropertyName("subnetLen")] int SubnetLen,
    [property: JsonPropertyName("subnetMin")] string SubnetMin,
    [property: JsonPropertyName("subnetMax")] string SubnetMax);

/// <summary>A network config with flannel's defaults resolved.</summary>
internal sealed record NetworkConfigJson(
    [property: JsonPropertyName("network")] string Network,
    [property: JsonPropertyName("subnetLen")] int SubnetLen,
    [property: JsonPropertyName("subnetMin")] string SubnetMin,
    [property: JsonPropertyName("subnetMax")] string SubnetMax,
    [property: JsonPropertyName("ipv6")] NetworkRangeJson? IPv6,
    [property: JsonPropertyName("backend")] BackendJson Backend,
    [property: JsonPropertyName("serviceNetwork")] string? ServiceNetwork,
    [property: JsonPropertyName("serviceIPv6Network")] string? ServiceIPv6Network,
    [property: JsonPropertyName("clusterDomain")] string ClusterDomain,
    [property: JsonPropertyName("clusterDNS")] string? ClusterDns);

internal sealed record ConfigErrorJson(
    [property: JsonPropertyName("field")] string Field,
    [property: JsonPropertyName("message")] string Message);

internal sealed record ValidationJson(
    [property: JsonPropertyName("valid")] bool Valid,
    [property: JsonPropertyName("config")] NetworkConfigJson? Config,
    [property: JsonPropertyName("errors")] IReadOnlyList<ConfigErrorJson> Errors);

internal sealed record SubnetCountJson(
    [property: JsonPropertyName("total")] long Total,
    [property: JsonPropertyName("used")] int Used,
    [property: JsonPropertyName("free")] long Free);

internal sealed record StatusJson(
    [property: JsonPropertyName("prefix")] string Prefix,
    [property: JsonPropertyName("config")] NetworkConfigJson Config,
    [property: JsonPropertyName("subnets")] SubnetCountJson Subnets,
    [property: JsonPropertyName("leases")] int Leases, // expiring leases; reservations are counted by their list
    [property: JsonPropertyName("renewMarginSeconds")] long RenewMarginSeconds,
    [property: JsonPropertyName("expiringSoon")] IReadOnlyList<LeaseJson> ExpiringSoon,
    [property: JsonPropertyName("reservations")] IReadOnlyList<LeaseJson> Reservations,
    [property: JsonPropertyName("outsideConfig")] IReadOnlyList<LeaseJson> OutsideConfig,
    [property: JsonPropertyName("skipped")] IReadOnlyList<SkippedJson> Skipped);

internal sealed record ServicePortJson(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("targetPort")] int TargetPort,
    [property: JsonPropertyName("protocol")] string Protocol);

internal sealed record ServiceEndpointJson(
    [property: JsonPropertyName("ip")] string IP,
    [property: JsonPropertyName("port")] int? Port);

/// <summary>One service, as <c>service get -o json</c> prints it.</summary>
internal sealed record ServiceOutputJson(
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("clusterIP")] string ClusterIP,
    [property: JsonPropertyName("clusterIPv6")] string? ClusterIPv6,
    [property: JsonPropertyName("headless")] bool Headless,
    [property: JsonPropertyName("ports")] IReadOnlyList<ServicePortJson> Ports,
    [property: JsonPropertyName("selector")] IReadOnlyDictionary<string, string>? Selector,
    [property: JsonPropertyName("endpoints")] IReadOnlyList<ServiceEndpointJson>? Endpoints);

internal sealed record ServiceListJson(
    [property: JsonPropertyName("services")] IReadOnlyList<ServiceOutputJson> Services,
    [property: JsonPropertyName("skipped")] IReadOnlyList<SkippedJson> Skipped);

internal sealed record EndpointJson(
    [property: JsonPropertyName("ip")] string IP,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("pod")] string? Pod,
    [property: JsonPropertyName("node")] string? Node);

internal sealed record PortEndpointsJson(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("port")] int Port,
    [property: JsonPropertyName("targetPort")] int TargetPort,
    [property: JsonPropertyName("protocol")] string Protocol,
    [property: JsonPropertyName("endpoints")] IReadOnlyList<EndpointJson> Endpoints);

internal sealed record ServiceEndpointsJson(
    [property: JsonPropertyName("namespace")] string Namespace,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("clusterIP")] string ClusterIP,
    [property: JsonPropertyName("clusterIPv6")] string? ClusterIPv6,
    [property: JsonPropertyName("ports")] IReadOnlyList<PortEndpointsJson> Ports,
    [property: JsonPropertyName("skipped")] IReadOnlyList<SkippedJson> Skipped);

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(LeaseJson))]
[JsonSerializable(typeof(LeaseListJson))]
[JsonSerializable(typeof(WatchEventJson))]
[JsonSerializable(typeof(GcJson))]
[JsonSerializable(typeof(NetworkConfigJson))]
[JsonSerializable(typeof(ValidationJson))]
[JsonSerializable(typeof(StatusJson))]
[JsonSerializable(typeof(ServiceOutputJson))]
[JsonSerializable(typeof(ServiceListJson))]
[JsonSerializable(typeof(ServiceEndpointsJson))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
    /// <summary>Indented documents; '&amp;' and non-ASCII stay readable (dual-stack keys contain '&amp;').</summary>
    public static CliJsonContext Document { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });

    /// <summary>One object per line, for streams (<c>leases watch -o json</c>).</summary>
    public static CliJsonContext Line { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = false,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
