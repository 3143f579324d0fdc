using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Overlay.Core.Processes;

/// <summary>What a child process that ran to its end left: its exit status and everything it printed.</summary>
public sealed record ChildProcessResult(string Command, int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>This result when the exit status is 0; otherwise a <see cref="ChildProcessException"/> with the status and stderr.</summary>
    public ChildProcessResult EnsureSuccess() => Succeeded ? this : throw ChildProcessException.Exited(this);
}

/// <summary>
/// The one way Overlay runs a program to its end (nft, CNI plugins, and the tests' ip/etcdctl): no shell, the
/// input written while both outputs are read to their end (so no pipe fills and blocks the child), a time
/// limit that kills the child and its children, and the exit status returned, not guessed from the output.
/// </summary>
public static class ChildProcess
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/> and returns whatever exit status it ends with.
    /// Throws <see cref="ChildProcessException"/> when it cannot start or outlives <paramref name="timeout"/> (no
    /// limit when null); <paramref name="ct"/> kills it and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <param name="standardInput">Written to the child's stdin, which is then closed; null closes it at once.</param>
    /// <param name="environment">Variables set over the inherited environment.</param>
    /// <param name="startOn">
    /// Runs the start of the child where it must inherit from, e.g. on a thread switched into a network namespace
    /// (a forked child takes the namespace of the thread that forked it).
    /// </param>
    public static async Task<ChildProcessResult> RunAsync(
        string file,
        IEnumerable<string> args,
        string? standardInput = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null,
        CancellationToken ct = default,
        Func<Func<Process>, Process>? startOn = null)
    {
        string[] argv = [.. args];
        string command = Describe(file, argv);
        var startInfo = new ProcessStartInfo(file)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = Utf8,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
        };
        foreach (string arg in argv)
        {
            startInfo.ArgumentList.Add(arg);
        }

        if (environment is not null)
        {
            foreach ((string key, string value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }

        using Process process = Start(startInfo, command, startOn);
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        Task<string> stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        if (timeout is { } limit && limit != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(limit);
        }

        try
        {
            await WriteInputAsync(process, standardInput, deadline.Token);
            await process.WaitForExitAsync(deadline.Token);
            // A background grandchild can inherit the pipes and hold them open after the child itself exits.
            await Task.WhenAll(stdout, stderr).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            if (ct.IsCancellationRequested)
            {
                throw;
            }

            throw ChildProcessException.TimedOut(command, timeout!.Value, await Settled(stderr));
        }

        return new ChildProcessResult(command, process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The command as one line for messages: <c>nft -f -</c>, empty or spaced arguments quoted.</summary>
    public static string Describe(string file, IEnumerable<string> args) =>
        string.Join(' ', new[] { file }.Concat(args).Select(a => a.Length == 0 || a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));

    private static Process Start(ProcessStartInfo startInfo, string command, Func<Func<Process>, Process>? startOn)
    {
        var process = new Process { StartInfo = startInfo };
        try
        {
            if (startOn is null)
            {
                process.Start();
            }
            else
            {
                startOn(() =>
                {
                    process.Start();
                    return process;
                });
            }

            return process;
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            throw ChildProcessException.NotStarted(command, e);
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    private static async Task WriteInputAsync(Process process, string? input, CancellationToken ct)
    {
        try
        {
            if (input is not null)
            {
                await process.StandardInput.WriteAsync(input.AsMemory(), ct);
            }

            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // It exited (or closed its stdin) without reading all of it; its exit status and output tell why.
        }
    }

    private static async Task<string> Settled(Task<string> output)
    {
        await Task.WhenAny(output, Task.Delay(TimeSpan.FromSeconds(1)));
        return output.IsCompletedSuccessfully ? output.Result : "";
    }

    private static void Kill(Process process)
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
        catch (Win32Exception)
        {
            // Exited between the check and the signal.
        }
    }
}

/// <summary>How a child process failed: it could not start, it outlived its time limit, or it exited with a non-zero status.</summary>
public enum ChildProcessFailure
{
    NotStarted,
    TimedOut,
    Exited,
}

/// <summary>A child process failed; carries the command, the exit status (when it exited) and its stderr.</summary>
public class ChildProcessException : IOException
{
    public ChildProcessException()
    {
    }

    public ChildProcessException(string message)
        : base(message)
    {
    }

    public ChildProcessException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ChildProcessException(string message, string command, ChildProcessFailure failure, int? exitCode, string standardError, Exception? innerException = null)
        : base(message, innerException)
    {
        Command = command;
        Failure = failure;
        ExitCode = exitCode;
        StandardError = standardError;
    }

    /// <summary>The command line, e.g. <c>nft -f -</c>.</summary>
    public string Command { get; } = "";

    public ChildProcessFailure Failure { get; } = ChildProcessFailure.Exited;

    /// <summary>The exit status when it exited; null when it never started or was killed at its time limit.</summary>
    public int? ExitCode { get; }

    /// <summary>What it printed on stderr (possibly empty).</summary>
    public string StandardError { get; } = "";

    internal static ChildProcessException NotStarted(string command, Exception cause) =>
        new($"cannot start `{command}`: {cause.Message}", command, ChildProcessFailure.NotStarted, null, "", cause);

    internal static ChildProcessException TimedOut(string command, TimeSpan limit, string stderr) =>
        new($"`{command}` did not finish within {limit.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s (a background child may hold its output open)",
            command, ChildProcessFailure.TimedOut, null, stderr);

    internal static ChildProcessException Exited(ChildProcessResult result)
    {
        string text = result.StandardError.Trim();
        if (text.Length == 0)
        {
            text = result.StandardOutput.Trim();
        }

        return new($"`{result.Command}` exited with status {result.ExitCode.ToString(CultureInfo.InvariantCulture)}{(text.Length > 0 ? ": " + text : "")}",
            result.Command, ChildProcessFailure.Exited, result.ExitCode, result.StandardError);
    }
}
