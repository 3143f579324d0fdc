using Overlay.Core.Processes;

namespace Overlay.Benchmarks;

/// <summary>Runs ip/bridge for the comparison runs and for namespace setup (the benchmark lives under test/).</summary>
internal static class Shell
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static string Run(string file, params string[] args) =>
        ChildProcess.RunAsync(file, args, timeout: Timeout).GetAwaiter().GetResult().EnsureSuccess().StandardOutput;
}
