using System.Runtime.InteropServices;

namespace Overlay.Demo;

/// <summary>Why a <c>--keep</c> demo stopped waiting.</summary>
public enum StopReason
{
    Enter,
    Interrupt,
    Terminate,
}

/// <summary>
/// What ends <c>demo.sh --keep</c>: a line on stdin (Enter in its terminal), SIGINT (Ctrl+C) or SIGTERM (kill, a service
/// manager, a CI job ending). Without a terminal (stdin at end of file: /dev/null, a closed pipe, nohup) stdin can never
/// give a line, so only a signal ends it; it must not end at once.
/// </summary>
public static class KeepRunning
{
    /// <summary>
    /// Waits for a line on <paramref name="input"/> or for <paramref name="signal"/> to complete; the end of input alone
    /// does not end the wait. The reader is read on a thread of its own, so a reader that never answers does no harm.
    /// </summary>
    public static async Task<StopReason> WaitAsync(TextReader input, Task<StopReason> signal)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(signal);
        Task<string?> line = Task.Factory.StartNew(input.ReadLine, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Task first = await Task.WhenAny(line, signal);
        if (first == line && await line is not null)
        {
            return StopReason.Enter;
        }

        return await signal; // end of input: no terminal, so only a signal can end the wait
    }

    /// <summary>
    /// The first SIGINT or SIGTERM this process receives, taken over from .NET's default (which ends the process at
    /// once, without the demo's clean-up). Dispose the returned registrations to hand the signals back.
    /// </summary>
    public static (Task<StopReason> Signal, IDisposable Registrations) CatchSignals()
    {
        var received = new TaskCompletionSource<StopReason>(TaskCreationOptions.RunContinuationsAsynchronously);
        PosixSignalRegistration interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            received.TrySetResult(StopReason.Interrupt);
        });
        PosixSignalRegistration terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            received.TrySetResult(StopReason.Terminate);
        });
        return (received.Task, new Registrations(interrupt, terminate));
    }

    private sealed class Registrations(params IDisposable[] registrations) : IDisposable
    {
        public void Dispose()
        {
            foreach (IDisposable registration in registrations)
            {
                registration.Dispose();
            }
        }
    }
}
