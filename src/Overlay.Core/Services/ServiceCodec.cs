using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Overlay.Core.Addressing;

namespace Overlay.Core.Services;

/// <summary>
/// A service's value at <c>&lt;prefix&gt;/services/&lt;namespace&gt;/&lt;name&gt;</c>:
/// <c>{"namespace":"default","name":"web","clusterIP":"198.19.0.23","ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}],"selector":{"app":"web"}}</c>,
/// <c>"clusterIP":"None"</c> for a headless service, <c>"endpoints":[{"ip":"198.18.1.5","port":8080}]</c> instead of a
/// selector, and <c>"clusterIPv6"</c> in a dual-stack service network. Member names are read in any case and
/// unknown members ignored (as the lease codec does); every value is checked, and a bad one gives a reason,
/// never an exception.
/// </summary>
public static class ServiceCodec
{
    /// <summary>What <c>clusterIP</c> holds for a headless service, as in Kubernetes.</summary>
    public const string Headless = "None";

    public static string Serialize(ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var json = new ServiceJson
        {
            Namespace = spec.Namespace,
            Name = spec.Name,
            ClusterIP = spec.ClusterIP?.ToString() ?? Headless,
            ClusterIPv6 = spec.ClusterIPv6?.ToString(),
            Ports = spec.Ports.Select(p => (PortJson?)new PortJson { Name = p.Name, Port = p.Port, TargetPort = p.TargetPort, Protocol = ServicePortSpec.ProtocolName(p.Protocol) }).ToList(),
            Selector = spec.Selector is { } selector ? Sorted(selector) : null,
            Endpoints = spec.Endpoints?.Select(e => (EndpointJson?)new EndpointJson { IP = e.Address.ToString(), Port = e.Port }).ToList(),
        };
        return JsonSerializer.Serialize(json, ServiceJsonContext.Default.ServiceJson);
    }

    public static bool TryParse(string json, [NotNullWhen(true)] out ServiceSpec? spec, out string reason)
    {
        ArgumentNullException.ThrowIfNull(json);
        spec = null;
        ServiceJson? value;
        try
        {
            value = JsonSerializer.Deserialize(json, ServiceJsonContext.Default.ServiceJson);
        }
        catch (JsonException e)
        {
            reason = $"not a service value: {e.Message}";
            return false;
        }

        if (value is null)
        {
            reason = "not a service value: it is null";
            return false;
        }

        if (!TryBuild(value, out ServiceSpec? built, out reason))
        {
            return false;
        }

        IReadOnlyList<string> problems = ServiceValidation.Problems(built);
        if (problems.Count > 0)
        {
            reason = string.Join("; ", problems);
            return false;
        }

        spec = built;
        return true;
    }

    public static ServiceSpec Parse(string json) =>
        TryParse(json, out ServiceSpec? spec, out string reason) ? spec : throw new FormatException(reason);

    private static bool TryBuild(ServiceJson value, [NotNullWhen(true)] out ServiceSpec? spec, out string reason)
    {
        spec = null;
        if (value.Namespace is null || value.Name is null)
        {
            reason = value.Namespace is null ? "namespace is missing" : "name is missing";
            return false;
        }

        IPAddress? clusterIP = null;
        if (value.ClusterIP is null)
        {
            reason = $"clusterIP is missing; give an IPv4 address, or \"{Headless}\" for a headless service";
            return false;
        }

        if (value.ClusterIP != Headless && !TryAddress(value.ClusterIP, AddressFamily.InterNetwork, out clusterIP))
        {
            reason = $"clusterIP '{value.ClusterIP}' is not an IPv4 address (or \"{Headless}\" for a headless service)";
            return false;
        }

        IPAddress? clusterIPv6 = null;
        if (value.ClusterIPv6 is not null && !TryAddress(value.ClusterIPv6, AddressFamily.InterNetworkV6, out clusterIPv6))
        {
            reason = $"clusterIPv6 '{value.ClusterIPv6}' is not an IPv6 address";
            return false;
        }

        if (value.Ports is null)
        {
            reason = "ports is missing; a service has at least one port";
            return false;
        }

        var ports = new List<ServicePort>();
        for (int i = 0; i < value.Ports.Count; i++)
        {
            PortJson? port = value.Ports[i];
            if (port?.Port is not { } number)
            {
                reason = $"ports[{i}]: port is missing";
                return false;
            }

            ServiceProtocol protocol = ServiceProtocol.Tcp;
            if (port.Protocol is { } protocolText)
            {
                if (protocolText is not ("TCP" or "UDP"))
                {
                    reason = $"ports[{i}]: protocol '{protocolText}' is not TCP or UDP";
                    return false;
                }

                protocol = protocolText == "UDP" ? ServiceProtocol.Udp : ServiceProtocol.Tcp;
            }

            ports.Add(new ServicePort(port.Name, number, port.TargetPort ?? number, protocol));
        }

        List<ServiceEndpoint>? endpoints = null;
        if (value.Endpoints is not null)
        {
            endpoints = [];
            for (int i = 0; i < value.Endpoints.Count; i++)
            {
                EndpointJson? endpoint = value.Endpoints[i];
                if (endpoint?.IP is not { } ipText || !IPAddressMath.TryParseAddress(ipText, out IPAddress? address))
                {
                    reason = endpoint?.IP is null ? $"endpoints[{i}]: ip is missing" : $"endpoints[{i}]: ip '{endpoint.IP}' is not an IP address";
                    return false;
                }

                endpoints.Add(new ServiceEndpoint(address, endpoint.Port));
            }
        }

        Dictionary<string, string>? selector = null;
        if (value.Selector is not null)
        {
            selector = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach ((string key, string? labelValue) in value.Selector)
            {
                if (labelValue is null)
                {
                    reason = $"selector: the value of '{key}' is null; give a string";
                    return false;
                }

                selector[key] = labelValue;
            }
        }

        spec = new ServiceSpec
        {
            Namespace = value.Namespace,
            Name = value.Name,
            ClusterIP = clusterIP,
            ClusterIPv6 = clusterIPv6,
            Ports = ports,
            Selector = selector,
            Endpoints = endpoints,
        };
        reason = "";
        return true;
    }

    private static bool TryAddress(string text, AddressFamily family, [NotNullWhen(true)] out IPAddress? address) =>
        IPAddressMath.TryParseAddress(text, out address) && address.AddressFamily == family;

    private static Dictionary<string, string?> Sorted(IReadOnlyDictionary<string, string> labels)
    {
        var sorted = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach ((string key, string value) in labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            sorted[key] = value;
        }

        return sorted;
    }
}

internal sealed class ServiceJson
{
    [JsonPropertyName("namespace")]
    [JsonPropertyOrder(0)]
    public string? Namespace { get; set; }

    [JsonPropertyName("name")]
    [JsonPropertyOrder(1)]
    public string? Name { get; set; }

    [JsonPropertyName("clusterIP")]
    [JsonPropertyOrder(2)]
    public string? ClusterIP { get; set; }

    [JsonPropertyName("clusterIPv6")]
    [JsonPropertyOrder(3)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ClusterIPv6 { get; set; }

    [JsonPropertyName("ports")]
    [JsonPropertyOrder(4)]
    public List<PortJson?>? Ports { get; set; }

    [JsonPropertyName("selector")]
    [JsonPropertyOrder(5)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string?>? Selector { get; set; }

    [JsonPropertyName("endpoints")]
    [JsonPropertyOrder(6)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<EndpointJson?>? Endpoints { get; set; }
}

internal sealed class PortJson
{
    [JsonPropertyName("name")]
    [JsonPropertyOrder(0)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; set; }

    [JsonPropertyName("port")]
    [JsonPropertyOrder(1)]
    public int? Port { get; set; }

    [JsonPropertyName("targetPort")]
    [JsonPropertyOrder(2)]
    public int? TargetPort { get; set; }

    [JsonPropertyName("protocol")]
    [JsonPropertyOrder(3)]
    public string? Protocol { get; set; }
}

internal sealed class EndpointJson
{
    [JsonPropertyName("ip")]
    [JsonPropertyOrder(0)]
    public string? IP { get; set; }

    [JsonPropertyName("port")]
    [JsonPropertyOrder(1)]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Port { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNameCaseInsensitive = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ServiceJson))]
internal sealed partial class ServiceJsonContext : JsonSerializerContext;
