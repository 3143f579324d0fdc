using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Overlay.Core.Addressing;
using Overlay.Core.Leases;

namespace Overlay.Core.Services;

/// <summary>
/// A pod's JSON, in the pods folder and under <c>&lt;prefix&gt;/pods/&lt;ns&gt;/&lt;name&gt;</c>:
/// <c>{"namespace":"default","name":"web-1","node":"198.18.34.0-24","ips":["198.18.34.5"],"labels":{"app":"web"}}</c>.
/// Labels are written in key order, so the same pod always gives the same bytes.
/// </summary>
public static class PodCodec
{
    public static string Serialize(PodRecord pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var labels = new Dictionary<string, string?>(pod.Labels.Count, StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> label in pod.Labels.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            labels.Add(label.Key, label.Value);
        }

        var json = new PodJson
        {
            Namespace = pod.Namespace,
            Name = pod.Name,
            Node = pod.Node,
            Ips = pod.Addresses.Select(a => (string?)a.ToString()).ToList(),
            Labels = labels,
        };
        return JsonSerializer.Serialize(json, PodJsonContext.Default.PodJson);
    }

    /// <summary>
    /// Reads a pod's JSON; never throws on bad input. Unknown members are ignored. A value that is not JSON, lacks
    /// the namespace, name, node or an address, or holds an invalid one of them or of its labels, is refused with
    /// the reason.
    /// </summary>
    public static bool TryParse(string json, [NotNullWhen(true)] out PodRecord? pod, out string reason)
    {
        pod = null;
        PodJson? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize(json ?? "", PodJsonContext.Default.PodJson);
        }
        catch (JsonException e)
        {
            reason = $"not a pod: {e.Message}";
            return false;
        }

        if (parsed is null)
        {
            reason = "not a pod: it is null";
            return false;
        }

        if (!PodLabels.IsValidNamespace(parsed.Namespace, out reason) || !PodLabels.IsValidPodName(parsed.Name, out reason))
        {
            return false;
        }

        if (!SubnetKey.TryParse(parsed.Node, out _, out string nodeReason))
        {
            reason = $"node '{parsed.Node}' is not a subnet key: {nodeReason}";
            return false;
        }

        if (parsed.Ips is not { Count: > 0 } ips)
        {
            reason = "it has no address (\"ips\")";
            return false;
        }

        var addresses = new List<IPAddress>(ips.Count);
        foreach (string? text in ips)
        {
            if (text is null || !IPAddressMath.TryParseAddress(text, out IPAddress? address))
            {
                reason = $"'{text}' in \"ips\" is not an IP address";
                return false;
            }

            addresses.Add(address);
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string key, string? value) in parsed.Labels ?? [])
        {
            if (!PodLabels.IsValidKey(key, out reason) || !PodLabels.IsValidValue(value, out reason))
            {
                return false;
            }

            labels[key] = value!;
        }

        pod = new PodRecord { Namespace = parsed.Namespace!, Name = parsed.Name!, Node = parsed.Node!, Addresses = addresses, Labels = labels };
        reason = "";
        return true;
    }

    internal sealed class PodJson
    {
        [JsonPropertyName("namespace")]
        [JsonPropertyOrder(0)]
        public string? Namespace { get; set; }

        [JsonPropertyName("name")]
        [JsonPropertyOrder(1)]
        public string? Name { get; set; }

        [JsonPropertyName("node")]
        [JsonPropertyOrder(2)]
        public string? Node { get; set; }

        [JsonPropertyName("ips")]
        [JsonPropertyOrder(3)]
        public List<string?>? Ips { get; set; }

        [JsonPropertyName("labels")]
        [JsonPropertyOrder(4)]
        public Dictionary<string, string?>? Labels { get; set; }
    }
}

[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip, NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(PodCodec.PodJson))]
internal sealed partial class PodJsonContext : JsonSerializerContext;
