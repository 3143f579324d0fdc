using System.Diagnostics;
using System.Globalization;
using System.Text;

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

/// <summary>Runs external programs (ip, bridge, etcdctl, openssl ...) without a shell in between.</summary>
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
        using var process = StartRedirected(file, argList, environment);
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            await Task.WhenAll(stdout, stderr).WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(process);
            if (ct.IsCancellationRequested)
            {
                throw;
            }
            throw new TimeoutException($"`{Describe(file, argList)}` did not finish within {limit} (a background child may hold its output open).");
        }
        return new CommandResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false)) { Command = Describe(file, argList) };
    }

    internal static CommandResult RunCore(string file, IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        using var process = StartRedirected(file, args, environment);
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        var started = Stopwatch.StartNew();
        var exited = process.WaitForExit(timeout);
        var remaining = timeout - started.Elapsed;
        // A background grandchild can inherit the pipes and keep them open after the command itself exits.
        if (!exited || !Task.WaitAll([stdout, stderr], remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero))
        {
            KillQuietly(process);
            throw new TimeoutException($"`{Describe(file, args)}` did not finish within {timeout} (a background child may hold its output open).");
        }
        return new CommandResult(process.ExitCode, stdout.Result, stderr.Result) { Command = Describe(file, args) };
    }

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

    internal static string Describe(string file, IEnumerable<string> args) =>
        string.Join(' ', new[] { file }.Concat(args).Select(a => a.Length == 0 || a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));

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
