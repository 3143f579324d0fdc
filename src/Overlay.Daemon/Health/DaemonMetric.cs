namespace Overlay.Daemon.Health;

/// <summary>How a figure behaves, in Prometheus's words.</summary>
public enum MetricKind
{
    /// <summary>A value now, up or down.</summary>
    Gauge,

    /// <summary>A total that only grows while overlayd runs.</summary>
    Counter,

    /// <summary>Observations (durations) with their sum and count; a histogram instrument.</summary>
    Summary,
}

/// <summary>
/// One of overlayd's figures as both its views name it: a family of /metrics (Prometheus text) and an instrument
/// of the <see cref="DaemonMeter.Name"/> meter (dotnet-counters, OpenTelemetry). Both read <see cref="Read"/> when
/// they are asked, so both show the same value; null leaves the figure out of both (a feature that is off, or no
/// value yet). The family's name is the instrument's as OpenTelemetry's Prometheus naming gives it: dots become
/// underscores, the unit is added (<c>s</c> as <c>_seconds</c>, <c>By</c> as <c>_bytes</c>, a <c>{…}</c> annotation
/// as nothing), and a counter ends in <c>_total</c>.
/// </summary>
/// <param name="Family">The Prometheus name (for a summary, of the <c>_sum</c> and <c>_count</c> samples).</param>
/// <param name="Instrument">The instrument's name in the meter.</param>
/// <param name="Unit">UCUM unit: <c>s</c>, <c>By</c>, or a <c>{thing}</c> counted; null for a 0/1 state.</param>
/// <param name="WholeNumber">Counts and bytes: published as <see cref="long"/> instruments.</param>
/// <param name="Help">The HELP text, which is also the instrument's description.</param>
/// <param name="Read">The value now; for a summary, the sum of the observations.</param>
/// <param name="Count">For a summary: how many observations.</param>
public sealed record DaemonMetric(
    string Family,
    MetricKind Kind,
    string Instrument,
    string? Unit,
    bool WholeNumber,
    string Help,
    Func<double?> Read,
    Func<long>? Count = null);
