using System.Diagnostics;
using System.Globalization;
using System.Text;
using Overlay.Core.Processes;

namespace Overlay.TestKit;

/// <summary>The outcome of one finished command.</summary>
public sealed record CommandResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>The command line that produced this result, for error messages.</summary>
    public string Command { get; init; } = "";

    public bool Succeeded => ExitCode == 0;

    public CommandResult EnsureSuccess()
    {
        if (ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"`{Command}` exited with {ExitCode.ToString(CultureInfo.InvariantCulture)}: {StdErr.Trim()}{(StdOut.Length > 0 ? $" (stdout: {StdOut.Trim()})" : "")}");
        }
        return this;
    }
}

/// <summary>
/// Runs external programs (ip, bridge, etcdctl, openssl ...) without a shell in between: a convenience over
/// <see cref="ChildProcess"/> that keeps a failed exit status as a result and starts long-running ones (etcd).
/// </summary>
public static class Shell
{
    /// <summary>Long enough for anything a test runs to completion; a hang fails the test instead of the whole run.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static CommandResult Run(string file, params string[] args) => RunCore(file, args, environment: null, DefaultTimeout);

    public static Task<CommandResult> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null, CancellationToken ct = default) =>
        RunCoreAsync(file, args.ToArray(), environment: null, timeout ?? DefaultTimeout, ct);

    internal static async Task<CommandResult> RunCoreAsync(
        string file, IReadOnlyList<string> argList, IReadOnlyDictionary<string, string>? environment, TimeSpan limit, CancellationToken ct)
    {
        try
        {
            ChildProcessResult result = await ChildProcess.RunAsync(file, argList, standardInput: null, environment, limit, ct).ConfigureAwait(false);
            return new CommandResult(result.ExitCode, result.StandardOutput, result.StandardError) { Command = result.Command };
        }
        catch (ChildProcessException e) when (e.Failure == ChildProcessFailure.NotStarted)
        {
            throw new InvalidOperationException(e.Message, e);
        }
        catch (ChildProcessException e) when (e.Failure == ChildProcessFailure.TimedOut)
        {
            throw new TimeoutException(e.Message, e);
        }
    }

    internal static CommandResult RunCore(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout) =>
        RunCoreAsync(file, args, environment, timeout, CancellationToken.None).GetAwaiter().GetResult();

    internal static Process StartRedirected(string file, IEnumerable<string> args, IEnumerable<KeyValuePair<string, string>>? environment)
    {
        var startInfo = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }
        var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception)
        {
            process.Dispose();
            throw new InvalidOperationException($"cannot start `{Describe(file, args)}`: {e.Message}", e);
        }
        // Nothing a test runs reads stdin; closing it keeps children from waiting on the test runner's terminal.
        process.StandardInput.Close();
        return process;
    }

    internal static string Describe(string file, IEnumerable<string> args) => ChildProcess.Describe(file, args);

    internal static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exited between the check and the signal.
        }
    }
}
