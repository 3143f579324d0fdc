using System.Text.Json;
using Overlay.Core.Processes;
using Overlay.Cni.Protocol;

namespace Overlay.Cni.Delegation;

/// <summary>A delegate plugin's failure that came with its own CNI error JSON, which is passed on as it is.</summary>
public sealed class DelegateErrorException(string errorJson) : Exception("the delegate plugin reported a CNI error")
{
    public string ErrorJson { get; } = errorJson;
}

/// <summary>
/// Runs a plugin found in CNI_PATH the way a runtime does: same environment (CNI_COMMAND and the rest are
/// inherited), the config on stdin, the result on stdout. Its stderr goes to ours, for the runtime's log.
/// </summary>
public static class DelegatePlugin
{
    public static string Find(string type, IReadOnlyList<string> cniPath)
    {
        if (type.Length == 0 || type.Contains('/', StringComparison.Ordinal))
        {
            throw new CniException(CniErrorCode.InvalidNetworkConfig, $"delegate type '{type}' is not a plugin name");
        }

        foreach (string folder in cniPath)
        {
            string candidate = Path.Combine(folder, type);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new CniException(CniErrorCode.DelegateNotFound, $"delegate plugin '{type}' is not in CNI_PATH ({string.Join(':', cniPath)})");
    }

    /// <summary>Runs the delegate and returns its stdout; a failure throws, carrying its CNI error when it printed one.</summary>
    public static string Invoke(string executable, string command, string configJson, TextWriter stderr)
    {
        ChildProcessResult result;
        try
        {
            // No time limit of our own: the runtime that called us enforces one.
            result = ChildProcess.RunAsync(executable, [], configJson, new Dictionary<string, string> { ["CNI_COMMAND"] = command })
                .GetAwaiter().GetResult();
        }
        catch (ChildProcessException e) when (e.Failure == ChildProcessFailure.NotStarted)
        {
            throw new CniException(CniErrorCode.DelegateNotFound, $"cannot run delegate plugin {executable}: {e.InnerException?.Message}");
        }

        string output = result.StandardOutput;
        string errorText = result.StandardError;
        if (errorText.Length > 0)
        {
            stderr.Write(errorText);
        }

        if (result.Succeeded)
        {
            return output;
        }

        if (IsCniError(output))
        {
            throw new DelegateErrorException(output);
        }

        throw new CniException(CniErrorCode.DelegateFailed,
            $"delegate plugin {executable} failed ({command}) with exit code {result.ExitCode}", (errorText + output).Trim());
    }

    private static bool IsCniError(string output)
    {
        try
        {
            using var document = JsonDocument.Parse(output);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("code", out JsonElement code)
                && code.ValueKind == JsonValueKind.Number;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
