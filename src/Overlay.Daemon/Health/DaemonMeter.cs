using System.Diagnostics.Metrics;

namespace Overlay.Daemon.Health;

/// <summary>
/// overlayd's figures as System.Diagnostics.Metrics instruments of the meter <see cref="Name"/>, for
/// <c>dotnet-counters</c>, OpenTelemetry or any <see cref="MeterListener"/>: an observable gauge or counter per
/// <see cref="DaemonMetric"/>, read when a listener asks (the same read /metrics makes), and a histogram of the
/// reconcile durations, recorded as each reconcile ends.
/// </summary>
public sealed class DaemonMeter : IDisposable
{
    /// <summary>The meter's name, what <c>dotnet-counters --counters</c> and OpenTelemetry's <c>AddMeter</c> take.</summary>
    public const string Name = "Overlay.Daemon";

    private readonly Histogram<double>? _reconcileDuration;

    public DaemonMeter(IReadOnlyList<DaemonMetric> metrics)
    {
        Meter = new Meter(Name);
        foreach (DaemonMetric metric in metrics)
        {
            switch (metric.Kind)
            {
                case MetricKind.Summary:
                    _reconcileDuration = Meter.CreateHistogram<double>(metric.Instrument, metric.Unit, metric.Help);
                    break;
                case MetricKind.Gauge when metric.WholeNumber:
                    Meter.CreateObservableGauge<long>(metric.Instrument, () => WholeNumber(metric), metric.Unit, metric.Help);
                    break;
                case MetricKind.Gauge:
                    Meter.CreateObservableGauge<double>(metric.Instrument, () => Fraction(metric), metric.Unit, metric.Help);
                    break;
                case MetricKind.Counter when metric.WholeNumber:
                    Meter.CreateObservableCounter<long>(metric.Instrument, () => WholeNumber(metric), metric.Unit, metric.Help);
                    break;
                case MetricKind.Counter:
                    Meter.CreateObservableCounter<double>(metric.Instrument, () => Fraction(metric), metric.Unit, metric.Help);
                    break;
            }
        }
    }

    public Meter Meter { get; }

    /// <summary>One reconcile's duration, for the histogram (the summary's sum and count are kept by the status).</summary>
    public void RecordReconcile(TimeSpan duration) => _reconcileDuration?.Record(duration.TotalSeconds);

    public void Dispose() => Meter.Dispose();

    private static IEnumerable<Measurement<long>> WholeNumber(DaemonMetric metric) =>
        metric.Read() is { } value ? [new Measurement<long>((long)value)] : [];

    private static IEnumerable<Measurement<double>> Fraction(DaemonMetric metric) =>
        metric.Read() is { } value ? [new Measurement<double>(value)] : [];
}
