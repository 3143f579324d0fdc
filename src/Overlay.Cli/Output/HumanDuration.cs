using System.Globalization;

namespace Overlay.Cli.Output;

/// <summary>
/// Time left as kubectl shows ages: the two largest units, zeros dropped, rounded down: 23h59m, 5m3s,
/// 45s, 2d3h, 2h.
/// </summary>
internal static class HumanDuration
{
    public static string Format(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
        {
            return "0s";
        }

        long seconds = (long)duration.TotalSeconds;
        long days = seconds / 86400;
        long hours = seconds / 3600 % 24;
        long minutes = seconds / 60 % 60;
        long secs = seconds % 60;
        return days > 0 ? Two(days, "d", hours, "h")
            : seconds >= 3600 ? Two(seconds / 3600, "h", minutes, "m")
            : seconds >= 60 ? Two(seconds / 60, "m", secs, "s")
            : Invariant(secs) + "s";
    }

    private static string Two(long major, string majorUnit, long minor, string minorUnit) =>
        minor == 0 ? Invariant(major) + majorUnit : Invariant(major) + majorUnit + Invariant(minor) + minorUnit;

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
