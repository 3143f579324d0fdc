using System.Diagnostics;

namespace Overlay.Benchmarks;

/// <summary>Runs ip/bridge for the comparison runs and for namespace setup (the benchmark lives under test/).</summary>
internal static class Shell
{
    public static string Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in args) start.ArgumentList.Add(arg);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + file);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"`{file} {string.Join(' ', args)}` exited with {process.ExitCode}: {stderr.Trim()}");
        }
        return stdout.Result;
    }
}
