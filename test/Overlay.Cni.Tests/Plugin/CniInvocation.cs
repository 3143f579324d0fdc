using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cni.Tests.Plugin;

/// <summary>What a plugin run printed and returned.</summary>
internal sealed record CniOutcome(int ExitCode, string StdOut, string StdErr)
{
    public JsonElement Json
    {
        get
        {
            using var document = JsonDocument.Parse(StdOut);
            return document.RootElement.Clone();
        }
    }

    public CniOutcome EnsureSuccess() =>
        ExitCode == 0 ? this : throw new InvalidOperationException($"the plugin exited with {ExitCode}:\n{StdOut}\n{StdErr}");

    public override string ToString() => $"exit {ExitCode}\nstdout: {StdOut}\nstderr: {StdErr}";
}

/// <summary>
/// Runs a CNI plugin as a runtime does: CNI_* in the environment, the config on stdin, optionally inside a
/// node's namespace (`ip netns exec`) so that the bridge and veths land there.
/// </summary>
internal static class CniInvocation
{
    /// <summary>The built plugin's apphost, copied beside the tests by the project reference.</summary>
    public static string Overlay => Path.Combine(TestContext.CurrentContext.TestDirectory, "overlay");

    public const string SystemPlugins = "/usr/lib/cni";

    /// <summary>Our folder first, so "type": "overlay" finds the plugin under test, then Debian's plugins.</summary>
    public static string CniPath => $"{TestContext.CurrentContext.TestDirectory}:{SystemPlugins}";

    public static CniOutcome Run(string executable, string command, string config, string containerId = "", NetNs? node = null,
        string? podNetns = null, string ifName = "eth0", string? cniPath = null, string cniArgs = "")
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["CNI_COMMAND"] = command,
            ["CNI_CONTAINERID"] = containerId,
            ["CNI_NETNS"] = podNetns ?? "",
            ["CNI_IFNAME"] = ifName,
            ["CNI_PATH"] = cniPath ?? CniPath,
            ["CNI_ARGS"] = cniArgs,
        };
        var startInfo = node is null ? new ProcessStartInfo(executable) : new ProcessStartInfo("ip", ["netns", "exec", node.Name, executable]);
        startInfo.UseShellExecute = false;
        startInfo.RedirectStandardInput = true;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.StandardOutputEncoding = Encoding.UTF8;
        startInfo.StandardErrorEncoding = Encoding.UTF8;
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        using var process = Process.Start(startInfo)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(config);
        process.StandardInput.Close();
        if (!process.WaitForExit(Shell.DefaultTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{executable} {command} did not finish");
        }

        return new CniOutcome(process.ExitCode, stdout.Result, stderr.Result);
    }
}
