using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Overlay.Cni.Protocol;

/// <summary>The error codes of the CNI spec (1..99) and this plugin's own (100 and up).</summary>
public enum CniErrorCode
{
    IncompatibleVersion = 1,
    UnsupportedField = 2,
    UnknownContainer = 3,
    InvalidEnvironment = 4,
    IOFailure = 5,
    DecodeFailure = 6,
    InvalidNetworkConfig = 7,
    TryAgainLater = 11,

    /// <summary>subnet.env exists but lacks a key or holds a value that does not parse.</summary>
    InvalidSubnetFile = 100,

    /// <summary>The delegate plugin is not in any CNI_PATH folder, or could not be started.</summary>
    DelegateNotFound = 101,

    /// <summary>The delegate plugin failed without printing a CNI error of its own.</summary>
    DelegateFailed = 102,

    /// <summary>An unexpected failure of the plugin itself (libcni's generic code).</summary>
    Internal = 999,
}

/// <summary>A failure the plugin reports to the runtime as CNI error JSON on stdout.</summary>
public sealed class CniException(CniErrorCode code, string message, string? details = null) : Exception(message)
{
    public CniErrorCode Code { get; } = code;

    public string? Details { get; } = details;
}

/// <summary>Renders <c>{"cniVersion":..,"code":N,"msg":"..","details":".."}</c>.</summary>
public static class CniError
{
    public static string ToJson(string cniVersion, CniErrorCode code, string message, string? details = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("cniVersion", cniVersion);
            json.WriteNumber("code", (int)code);
            json.WriteString("msg", message);
            if (!string.IsNullOrEmpty(details))
            {
                json.WriteString("details", details);
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string ToJson(string cniVersion, CniException error) => ToJson(cniVersion, error.Code, error.Message, error.Details);
}
