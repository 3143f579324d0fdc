using System.Runtime.InteropServices;
using Overlay.Cli;

using var interrupted = new CancellationTokenSource();

// SIGINT/SIGTERM end a running watch cleanly (exit 0); short commands are cancelled the same way.
void Stop(PosixSignalContext context)
{
    context.Cancel = !interrupted.IsCancellationRequested; // a second signal terminates as usual
    interrupted.Cancel();
}

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

return await OverlayCtl.RunAsync(args, Console.In, Console.Out, Console.Error, TimeProvider.System, interrupted.Token);
