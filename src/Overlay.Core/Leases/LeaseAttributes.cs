using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Overlay.Core.Addressing;

namespace Overlay.Core.Leases;

/// <summary>
/// A lease's value in etcd, member for member as flannel writes it:
/// <c>{"PublicIP":"192.0.2.11","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:11:22:33:44"}}</c>.
/// <see cref="OwnerId"/> is Overlay's own extra member, which flannel's decoder ignores.
/// </summary>
public sealed record LeaseAttributes
{
    [JsonPropertyName("PublicIP")]
    [JsonPropertyOrder(0)]
    public required string PublicIP { get; init; }

    /// <summary>Always written, as <c>null</c> when the node has no IPv6 address (as flannel does).</summary>
    [JsonPropertyName("PublicIPv6")]
    [JsonPropertyOrder(1)]
    public string? PublicIPv6 { get; init; }

    [JsonPropertyName("BackendType")]
    [JsonPropertyOrder(2)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? BackendType { get; init; }

    [JsonPropertyName("BackendData")]
    [JsonPropertyOrder(3)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public VxlanBackendData? BackendData { get; init; }

    [JsonPropertyName("BackendV6Data")]
    [JsonPropertyOrder(4)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public VxlanBackendData? BackendV6Data { get; init; }

    /// <summary>Overlay's node identity (node name, or derived from machine-id and public IP); flannel ignores it.</summary>
    [JsonPropertyName(OwnerMember)]
    [JsonPropertyOrder(5)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OwnerId { get; init; }

    public const string OwnerMember = "OverlayOwner";

    /// <summary>The public IP as an address; null when the stored text is not a dotted quad.</summary>
    [JsonIgnore]
    public IPAddress? PublicAddress =>
        IPAddressMath.TryParseDottedQuad(PublicIP, out IPAddress? address) ? address : null;

    [JsonIgnore]
    public IPAddress? PublicAddressV6 =>
        PublicIPv6 is not null && IPAddressMath.TryParseAddress(PublicIPv6, out IPAddress? address) && address.AddressFamily == AddressFamily.InterNetworkV6
            ? address
            : null;

    public string ToJson() => JsonSerializer.Serialize(this, LeaseJsonContext.Default.LeaseAttributes);

    /// <summary>
    /// Reads a lease value. Member names are matched case-insensitively and unknown members are ignored, as
    /// Go's decoder does; a value that is not JSON, lacks a dotted-quad PublicIP, or has a BackendData of the
    /// wrong shape is rejected with the reason.
    /// </summary>
    public static bool TryParse(string json, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LeaseAttributes? attributes, out string reason)
    {
        attributes = null;
        try
        {
            attributes = JsonSerializer.Deserialize(json, LeaseJsonContext.Default.LeaseAttributes);
        }
        catch (JsonException e)
        {
            reason = $"not a lease value: {e.Message}";
            return false;
        }

        if (attributes is null)
        {
            reason = "not a lease value: it is null";
            return false;
        }

        if (attributes.PublicAddress is null)
        {
            reason = $"PublicIP '{attributes.PublicIP}' is not an IPv4 address";
            attributes = null;
            return false;
        }

        if (attributes.PublicIPv6 is not null && attributes.PublicAddressV6 is null)
        {
            reason = $"PublicIPv6 '{attributes.PublicIPv6}' is not an IPv6 address";
            attributes = null;
            return false;
        }

        reason = "";
        return true;
    }

    public static LeaseAttributes Parse(string json) =>
        TryParse(json, out LeaseAttributes? attributes, out string reason) ? attributes : throw new FormatException(reason);
}

/// <summary>The vxlan backend's data in a lease: the VNI and the VTEP's MAC address.</summary>
public sealed record VxlanBackendData
{
    [JsonPropertyName("VNI")]
    [JsonPropertyOrder(0)]
    public int Vni { get; init; }

    [JsonPropertyName("VtepMAC")]
    [JsonPropertyOrder(1)]
    public string? VtepMac { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(LeaseAttributes))]
internal sealed partial class LeaseJsonContext : JsonSerializerContext;
