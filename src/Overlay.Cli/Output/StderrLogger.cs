using Microsoft.Extensions.Logging;

namespace Overlay.Cli.Output;

/// <summary>Warnings and errors of the lease library (e.g. a watch riding out an etcd outage) as "warning: ..." lines on stderr.</summary>
internal sealed class StderrLogger<T>(TextWriter error) : ILogger<T>
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel))
        {
            error.Write($"{(logLevel >= LogLevel.Error ? "error" : "warning")}: {formatter(state, exception)}\n");
        }
    }
}
