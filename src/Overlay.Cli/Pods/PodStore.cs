using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Overlay.Core.SubnetFile;

namespace Overlay.Cli.Pods;

/// <summary>
/// What overlayctl remembers of one pod, in <c>&lt;pod-state-dir&gt;/&lt;name&gt;.json</c>: enough for
/// <c>pod list</c> and for <c>pod rm</c> to repeat the CNI call as DEL. Written before ADD (ip null) so that a
/// run that died halfway can still be removed, and again with the address once ADD succeeded. A stable shape:
/// members are only ever added.
/// </summary>
internal sealed record PodRecord
{
    [JsonPropertyName("name")]
    public required string Name { get; init; }

    /// <summary>The node's namespace as given to --node.</summary>
    [JsonPropertyName("node")]
    public required string Node { get; init; }

    [JsonPropertyName("nodeNetns")]
    public required string NodeNetns { get; init; }

    [JsonPropertyName("netns")]
    public required string Netns { get; init; }

    [JsonPropertyName("containerId")]
    public required string ContainerId { get; init; }

    [JsonPropertyName("ifName")]
    public required string IfName { get; init; }

    /// <summary>The pod's address with prefix length from the CNI result, e.g. 198.18.34.2/24; null before ADD finished.</summary>
    [JsonPropertyName("ip")]
    public string? Ip { get; init; }

    [JsonPropertyName("gateway")]
    public string? Gateway { get; init; }

    [JsonPropertyName("cniPath")]
    public required string CniPath { get; init; }

    /// <summary>The network config given to the plugin on stdin; DEL gets the same.</summary>
    [JsonPropertyName("networkConfig")]
    public required JsonElement NetworkConfig { get; init; }

    [JsonPropertyName("etcDir")]
    public required string EtcDir { get; init; }

    /// <summary>RFC 3339, UTC, whole seconds.</summary>
    [JsonPropertyName("created")]
    public required string Created { get; init; }

    /// <summary>The pod's Kubernetes namespace (K8S_POD_NAMESPACE); null in records written before namespaces were passed.</summary>
    [JsonPropertyName("namespace")]
    public string? Namespace { get; init; }

    /// <summary>The pod's labels, as handed to the plugin in args.cni.labels.</summary>
    [JsonPropertyName("labels")]
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    [JsonIgnore]
    public string NamespaceOrDefault => Namespace ?? PodDns.DefaultNamespace;
}

internal sealed record PodListJson([property: JsonPropertyName("pods")] IReadOnlyList<PodRecord> Pods);

[JsonSourceGenerationOptions(WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(PodRecord))]
[JsonSerializable(typeof(PodListJson))]
internal sealed partial class PodJsonContext : JsonSerializerContext
{
    public static PodJsonContext Document { get; } = new(new JsonSerializerOptions
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>The folder of pod records.</summary>
internal sealed class PodStore(string directory)
{
    public const string DefaultDirectory = "/run/overlay/pods";

    public string Directory { get; } = directory;

    public string PathOf(string name) => Path.Combine(Directory, name + ".json");

    public PodRecord? Load(string name)
    {
        string path = PathOf(name);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(path), PodJsonContext.Document.PodRecord)
                ?? throw new IOException($"{path} holds no pod record");
        }
        catch (JsonException e)
        {
            throw new IOException($"{path} is not a pod record: {e.Message}", e);
        }
    }

    public void Save(PodRecord pod)
    {
        System.IO.Directory.CreateDirectory(Directory);
        AtomicFile.Write(PathOf(pod.Name), Serialize(pod));
    }

    public bool Remove(string name)
    {
        string path = PathOf(name);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    /// <summary>Every readable record, by name; unreadable files are reported to <paramref name="skipped"/>.</summary>
    public IReadOnlyList<PodRecord> List(Action<string, string> skipped)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        var pods = new List<PodRecord>();
        foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*.json"))
        {
            try
            {
                if (Load(Path.GetFileNameWithoutExtension(path)) is { } pod)
                {
                    pods.Add(pod);
                }
            }
            catch (IOException e)
            {
                skipped(path, e.Message);
            }
        }

        return pods.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
    }

    public static string Serialize(PodRecord pod) => JsonSerializer.Serialize(pod, PodJsonContext.Document.PodRecord) + "\n";

    public static string Serialize(PodListJson list) => JsonSerializer.Serialize(list, PodJsonContext.Document.PodListJson) + "\n";
}
