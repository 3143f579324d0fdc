using System.Text;

namespace Overlay.Cli.Tests;

/// <summary>What one overlayctl run printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Out}--- stderr ---\n{Err}";
}

/// <summary>A clock that always says the same time, so "expires in" and RFC 3339 times are exact.</summary>
public sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

/// <summary>A writer other threads may read while a command (a watch) is still writing to it.</summary>
public sealed class SharedWriter : TextWriter
{
    private readonly StringBuilder text = new();

    public override Encoding Encoding => Encoding.UTF8;

    public override void Write(char value)
    {
        lock (text)
        {
            text.Append(value);
        }
    }

    public override void Write(string? value)
    {
        lock (text)
        {
            text.Append(value);
        }
    }

    public override string ToString()
    {
        lock (text)
        {
            return text.ToString();
        }
    }
}

/// <summary>Runs overlayctl in-process (fast), with a given environment, stdin and clock.</summary>
public static class Cli
{
    /// <summary>The clock the golden outputs are written against.</summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 25, 9, 0, 0, TimeSpan.Zero);

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, new Dictionary<string, string?>(), "");

    public static async Task<CliResult> RunAsync(string[] args, IReadOnlyDictionary<string, string?> environment, string stdin, TimeProvider? time = null)
    {
        var output = new SharedWriter();
        var error = new SharedWriter();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int exit = await OverlayCtl.RunAsync(args, environment, new StringReader(stdin), output, error, time ?? new FixedTime(Now), timeout.Token);
        return new CliResult(exit, output.ToString(), error.ToString());
    }
}
