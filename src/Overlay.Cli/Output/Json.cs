using System.Text.Json;

namespace Overlay.Cli.Output;

/// <summary>Serialises the stable output shapes through the source-generated context (no reflection; AOT-safe).</summary>
internal static class Json
{
    public static string Document(LeaseJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.LeaseJson) + "\n";

    public static string Document(LeaseListJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.LeaseListJson) + "\n";

    public static string Document(GcJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.GcJson) + "\n";

    public static string Document(NetworkConfigJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.NetworkConfigJson) + "\n";

    public static string Document(ValidationJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.ValidationJson) + "\n";

    public static string Document(StatusJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.StatusJson) + "\n";

    public static string Document(ServiceOutputJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.ServiceOutputJson) + "\n";

    public static string Document(ServiceListJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.ServiceListJson) + "\n";

    public static string Document(ServiceEndpointsJson value) => JsonSerializer.Serialize(value, CliJsonContext.Document.ServiceEndpointsJson) + "\n";

    public static string Line(WatchEventJson value) => JsonSerializer.Serialize(value, CliJsonContext.Line.WatchEventJson) + "\n";
}
