using System.Text.Json;

namespace Overlay.Cni.Delegation;

/// <summary>A member the plugin generates; a <see cref="Fixed"/> one cannot be replaced by the user's.</summary>
internal sealed record GeneratedMember(string Name, Action<Utf8JsonWriter> WriteValue, bool Fixed = false);

internal static class JsonObjectWriter
{
    /// <summary>
    /// Writes an object of the generated members, in their order, each replaced by the same-named member of the
    /// user's objects (a later object wins) unless it is fixed, followed by the users' other members.
    /// </summary>
    public static void WriteMerged(Utf8JsonWriter json, IReadOnlyList<GeneratedMember> generated, params IEnumerable<JsonElement?> users)
    {
        JsonElement[] layers = users.OfType<JsonElement>().Where(u => u.ValueKind == JsonValueKind.Object).ToArray();
        json.WriteStartObject();
        foreach (GeneratedMember member in generated)
        {
            json.WritePropertyName(member.Name);
            if (!member.Fixed && Last(layers, member.Name) is { } value)
            {
                value.WriteTo(json);
            }
            else
            {
                member.WriteValue(json);
            }
        }

        var written = new HashSet<string>(generated.Select(m => m.Name), StringComparer.Ordinal);
        foreach (JsonElement layer in layers)
        {
            foreach (JsonProperty property in layer.EnumerateObject())
            {
                if (written.Add(property.Name))
                {
                    json.WritePropertyName(property.Name);
                    Last(layers, property.Name)!.Value.WriteTo(json);
                }
            }
        }

        json.WriteEndObject();
    }

    private static JsonElement? Last(JsonElement[] layers, string name)
    {
        for (int i = layers.Length - 1; i >= 0; i--)
        {
            if (layers[i].TryGetProperty(name, out JsonElement value))
            {
                return value;
            }
        }

        return null;
    }
}
