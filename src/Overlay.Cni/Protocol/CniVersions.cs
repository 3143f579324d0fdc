using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Overlay.Cni.Protocol;

/// <summary>The spec versions this plugin speaks: results of 0.3.x/0.4.0/1.0.0 share one shape.</summary>
public static class CniVersions
{
    public const string Latest = "1.0.0";

    public static IReadOnlyList<string> Supported { get; } = ["0.3.0", "0.3.1", "0.4.0", "1.0.0"];

    public static bool IsSupported(string version) => Supported.Contains(version, StringComparer.Ordinal);

    /// <summary>CHECK arrived in 0.4.0; older configs must not be asked for it.</summary>
    public static bool SupportsCheck(string version) => version is "0.4.0" or "1.0.0";

    /// <summary>The answer to CNI_COMMAND=VERSION.</summary>
    public static string VersionInfoJson()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("cniVersion", Latest);
            json.WriteStartArray("supportedVersions");
            foreach (string version in Supported)
            {
                json.WriteStringValue(version);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
