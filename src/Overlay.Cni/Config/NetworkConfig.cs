using System.Text.Json;
using Overlay.Cni.Protocol;
using Overlay.Core.SubnetFile;

namespace Overlay.Cni.Config;

/// <summary>
/// The network configuration the runtime passes on stdin, e.g.
/// <c>{"cniVersion":"1.0.0","name":"podnet","type":"overlay","subnetFile":"/run/flannel/subnet.env"}</c>.
/// Unknown members are ignored, as the spec asks.
/// </summary>
public sealed record NetworkConfig
{
    /// <summary>flannel's default, kept so that an operator replacing flannel finds DEL state where it was.</summary>
    public const string DefaultDataDir = "/var/lib/cni/flannel";

    public required string CniVersion { get; init; }

    public required string Name { get; init; }

    public string Type { get; init; } = "";

    public string SubnetFile { get; init; } = SubnetEnv.DefaultPath;

    public string DataDir { get; init; } = DefaultDataDir;

    /// <summary>Where ADD writes the pod's record for overlayd; default: the subnet file's folder + <c>/pods</c>.</summary>
    public string? PodsDirSetting { get; init; }

    public string PodsDir => PodsDirSetting ?? DefaultPodsDir(SubnetFile);

    /// <summary>The CNI conventions' <c>args</c> object (<c>args.cni.labels</c>: the pod's labels); read by ADD only.</summary>
    public JsonElement? Args { get; init; }

    /// <summary>Members for the delegate plugin's config; they win over what subnet.env gives.</summary>
    public JsonElement? Delegate { get; init; }

    /// <summary>Members for the delegate's "ipam"; they win over the generated host-local IPAM.</summary>
    public JsonElement? Ipam { get; init; }

    /// <summary>Passed on to the delegate (capability arguments such as portMappings, ips, mac).</summary>
    public JsonElement? RuntimeConfig { get; init; }

    /// <summary>The result of the previous plugin in a chain; CHECK and DEL hand it to the delegate.</summary>
    public JsonElement? PrevResult { get; init; }

    public static NetworkConfig Parse(string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new CniException(CniErrorCode.DecodeFailure, "the network configuration on stdin is not valid JSON", e.Message);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new CniException(CniErrorCode.DecodeFailure, "the network configuration on stdin is not a JSON object");
            }

            RequireValidText(root);

            string cniVersion = OptionalString(root, "cniVersion") ?? "";
            if (!CniVersions.IsSupported(cniVersion))
            {
                throw new CniException(CniErrorCode.IncompatibleVersion,
                    $"cniVersion '{cniVersion}' is not supported (supported: {string.Join(", ", CniVersions.Supported)})");
            }

            string name = OptionalString(root, "name") is { Length: > 0 } n
                ? n
                : throw new CniException(CniErrorCode.InvalidNetworkConfig, "the network configuration has no \"name\"");

            return new NetworkConfig
            {
                CniVersion = cniVersion,
                Name = name,
                Type = OptionalString(root, "type") ?? "",
                SubnetFile = NonEmpty(root, "subnetFile") ?? SubnetEnv.DefaultPath,
                DataDir = NonEmpty(root, "dataDir") ?? DefaultDataDir,
                PodsDirSetting = NonEmpty(root, "podsDir"),
                Args = OptionalObject(root, "args"),
                Delegate = OptionalObject(root, "delegate"),
                Ipam = OptionalObject(root, "ipam"),
                RuntimeConfig = OptionalObject(root, "runtimeConfig"),
                PrevResult = OptionalObject(root, "prevResult"),
            };
        }
    }

    /// <summary>overlayd's <c>--pods-dir</c> has the same default, so the two meet without being told.</summary>
    public static string DefaultPodsDir(string subnetFile) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(subnetFile)) ?? "/", "pods");

    /// <summary>
    /// JsonDocument takes an unpaired surrogate escape ("\ud800") but throws InvalidOperationException when the
    /// string or member name holding it is read. Every element handed on (args, delegate, ipam, prevResult, ...)
    /// comes from this document, so one walk here keeps that out of every later reader.
    /// </summary>
    private static void RequireValidText(JsonElement root)
    {
        try
        {
            Walk(root);
        }
        catch (InvalidOperationException e)
        {
            throw new CniException(CniErrorCode.DecodeFailure,
                "the network configuration on stdin holds a string that is not valid Unicode (an unpaired \\uD800-\\uDFFF escape)", e.Message);
        }

        static void Walk(JsonElement element)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (JsonProperty property in element.EnumerateObject())
                    {
                        _ = property.Name;
                        Walk(property.Value);
                    }

                    break;
                case JsonValueKind.Array:
                    foreach (JsonElement item in element.EnumerateArray())
                    {
                        Walk(item);
                    }

                    break;
                case JsonValueKind.String:
                    _ = element.GetString();
                    break;
            }
        }
    }

    private static string? NonEmpty(JsonElement root, string name) => OptionalString(root, name) is { Length: > 0 } value ? value : null;

    private static string? OptionalString(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw new CniException(CniErrorCode.InvalidNetworkConfig, $"\"{name}\" must be a string, not {Describe(value)}");
    }

    private static JsonElement? OptionalObject(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object
            ? value.Clone()
            : throw new CniException(CniErrorCode.InvalidNetworkConfig, $"\"{name}\" must be an object, not {Describe(value)}");
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.String => "a string",
        _ => "an object",
    };
}
