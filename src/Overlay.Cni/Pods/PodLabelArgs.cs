using System.Text.Json;
using Overlay.Cni.Protocol;
using Overlay.Core.Services;

namespace Overlay.Cni.Pods;

/// <summary>
/// The pod's labels from the CNI conventions' <c>"args": {"cni": {"labels": [{"key": "app", "value": "web"}]}}</c>
/// in the network config, as a runtime hands them in.
/// </summary>
public static class PodLabelArgs
{
    /// <summary>The labels; none when the config has no <c>args.cni.labels</c>. A malformed or invalid one is a CNI error naming it.</summary>
    public static IReadOnlyDictionary<string, string> Read(JsonElement? args)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (args is not { ValueKind: JsonValueKind.Object } root
            || !root.TryGetProperty("cni", out JsonElement cni) || cni.ValueKind != JsonValueKind.Object
            || !cni.TryGetProperty("labels", out JsonElement list) || list.ValueKind == JsonValueKind.Null)
        {
            return labels;
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw Invalid("\"args.cni.labels\" must be an array of {\"key\": ..., \"value\": ...}");
        }

        int index = 0;
        foreach (JsonElement label in list.EnumerateArray())
        {
            string where = $"args.cni.labels[{index++}]";
            if (label.ValueKind != JsonValueKind.Object
                || !label.TryGetProperty("key", out JsonElement key) || key.ValueKind != JsonValueKind.String
                || !label.TryGetProperty("value", out JsonElement value) || value.ValueKind != JsonValueKind.String)
            {
                throw Invalid($"{where} must be {{\"key\": \"...\", \"value\": \"...\"}} with string members, not {label.GetRawText()}");
            }

            string keyText = key.GetString()!;
            string valueText = value.GetString()!;
            if (!PodLabels.IsValidKey(keyText, out string reason) || !PodLabels.IsValidValue(valueText, out reason))
            {
                throw Invalid($"{where}: {reason}");
            }

            labels[keyText] = valueText;
        }

        return labels;
    }

    private static CniException Invalid(string message) => new(CniErrorCode.InvalidNetworkConfig, message);
}
