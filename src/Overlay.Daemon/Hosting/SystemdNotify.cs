using System.Globalization;
using Microsoft.Extensions.Hosting.Systemd;

namespace Overlay.Daemon.Hosting;

/// <summary>
/// sd_notify through Microsoft.Extensions.Hosting.Systemd's notifier. overlayd sends READY=1 itself, after
/// the first full reconcile, rather than letting the systemd lifetime send it when the host has merely started.
/// </summary>
public sealed class SystemdNotify
{
    private readonly SystemdNotifier _notifier = new();

    public bool IsEnabled => _notifier.IsEnabled;

    /// <summary>Half of WATCHDOG_USEC, when the unit sets WatchdogSec; null otherwise.</summary>
    public static TimeSpan? WatchdogInterval()
    {
        string? usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out long microseconds) || microseconds <= 0)
        {
            return null;
        }

        if (pid is not null && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null; // meant for another process
        }

        return TimeSpan.FromMicroseconds(microseconds / 2.0);
    }

    public void Ready() => Send("READY=1");

    public void Status(string text) => Send("STATUS=" + text.ReplaceLineEndings(" "));

    public void Stopping() => Send("STOPPING=1");

    public void Watchdog() => Send("WATCHDOG=1");

    private void Send(string state)
    {
        if (_notifier.IsEnabled)
        {
            _notifier.Notify(new ServiceState(state));
        }
    }
}
