using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using Overlay.Daemon.Health;

namespace Overlay.Daemon.Tests.Health;

public class DaemonMeterTests
{
    private const long MiB = 1024 * 1024;

    [Test]
    public void A_meter_listener_sees_an_instrument_for_every_family_of_the_metrics_text_with_the_same_value()
    {
        var time = new FakeTimeProvider(MetricsFormatTests.T0);
        using var status = new DaemonStatus(time);
        using var seen = new InstrumentReadings(status.Meter);
        MetricsFormatTests.SetEveryValue(status, time);

        seen.Observe();
        string metrics = status.RenderMetrics();

        Dictionary<string, string> samples = Samples(metrics);
        Dictionary<string, string> familyOf = status.Metrics.ToDictionary(m => m.Instrument, m => m.Family);
        Assert.That(seen.Values.Keys.Select(i => familyOf[i]), Is.EquivalentTo(Families(metrics).Where(f => f != "overlay_reconcile_duration_seconds")));
        Assert.That(seen.Instruments.Select(i => i.Meter.Name), Is.All.EqualTo("Overlay.Daemon"));
        Assert.Multiple(() =>
        {
            foreach ((string instrument, double value) in seen.Values)
            {
                string family = familyOf[instrument];
                string text = samples[family];
                if (MetricsFormatTests.ProcessFamilies.Contains(family))
                {
                    // Read a moment apart from the text's: memory moves a little, and a collection may run between.
                    double tolerance = family.EndsWith("_total", StringComparison.Ordinal) ? 2 : 16 * MiB;
                    Assert.That(value, Is.EqualTo(double.Parse(text, CultureInfo.InvariantCulture)).Within(tolerance), family);
                }
                else
                {
                    Assert.That(PrometheusText.Number(value), Is.EqualTo(text), family);
                }
            }
        });
    }

    [Test]
    public void The_reconcile_histogram_holds_each_reconcile_the_summary_sums_and_counts()
    {
        var time = new FakeTimeProvider(MetricsFormatTests.T0);
        using var status = new DaemonStatus(time);
        using var seen = new InstrumentReadings(status.Meter);
        MetricsFormatTests.SetEveryValue(status, time);

        string metrics = status.RenderMetrics();

        Assert.That(seen.Recorded["overlay.reconcile.duration"], Is.EqualTo(new[] { 0.1, 0.0244856, 0.0572446 }));
        Assert.That(MetricsFormatTests.Sample(metrics, "overlay_reconcile_duration_seconds_count"), Is.EqualTo("3"));
        Assert.That(double.Parse(MetricsFormatTests.Sample(metrics, "overlay_reconcile_duration_seconds_sum"), CultureInfo.InvariantCulture),
            Is.EqualTo(seen.Recorded["overlay.reconcile.duration"].Sum()).Within(1e-12));
    }

    [Test]
    public void Every_instrument_has_a_unit_and_the_help_text_as_its_description_and_a_family_name_by_OpenTelemetrys_rule()
    {
        using var status = new DaemonStatus(TimeProvider.System);
        using var seen = new InstrumentReadings(status.Meter);

        Assert.That(seen.Instruments, Has.Count.EqualTo(status.Metrics.Count));
        Assert.Multiple(() =>
        {
            foreach (DaemonMetric metric in status.Metrics)
            {
                Instrument instrument = seen.Instruments.Single(i => i.Name == metric.Instrument);
                Assert.That(instrument.Description, Is.EqualTo(metric.Help), metric.Family);
                Assert.That(instrument.Unit, Is.EqualTo(metric.Unit), metric.Family);
                Assert.That(metric.Unit, Is.Null.Or.EqualTo("s").Or.EqualTo("By").Or.Match(@"^\{[a-z]+\}$"), metric.Family);
                Assert.That(metric.Unit is null, Is.EqualTo(metric.Family is "overlay_etcd_reachable" or "overlay_ready"), "only the 0/1 states have no unit: " + metric.Family);
                Assert.That(OpenTelemetryPrometheusName(metric.Instrument, metric.Unit, metric.Kind), Is.EqualTo(metric.Family));
            }
        });
    }

    [Test]
    public void Service_instruments_report_nothing_while_overlayd_keeps_no_service_rules()
    {
        using var status = new DaemonStatus(TimeProvider.System);
        using var seen = new InstrumentReadings(status.Meter);

        seen.Observe();

        Assert.That(seen.Values.Keys, Does.Not.Contain("overlay.services").And.Not.Contain("overlay.service_frontends"));
        Assert.That(seen.Values.Keys, Does.Contain("overlay.peers.programmed"));
        Assert.That(status.RenderMetrics(), Does.Not.Contain("overlay_services"));
    }

    [Test]
    public void A_disposed_status_unpublishes_its_instruments()
    {
        var status = new DaemonStatus(TimeProvider.System);
        using var seen = new InstrumentReadings(status.Meter);
        int published = seen.Instruments.Count;

        status.Dispose();

        Assert.That(published, Is.EqualTo(status.Metrics.Count));
        Assert.That(seen.Unpublished, Is.EqualTo(published));
    }

    /// <summary>OpenTelemetry's Prometheus compatibility naming, written out here as the independent check.</summary>
    private static string OpenTelemetryPrometheusName(string instrument, string? unit, MetricKind kind)
    {
        string name = instrument.Replace('.', '_');
        string suffix = unit switch
        {
            "s" => "_seconds",
            "By" => "_bytes",
            _ => "",
        };
        return name + suffix + (kind == MetricKind.Counter ? "_total" : "");
    }

    private static Dictionary<string, string> Samples(string metrics) =>
        metrics.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToDictionary(l => l.Split(' ')[0], l => l.Split(' ')[1]);

    private static IEnumerable<string> Families(string metrics) =>
        metrics.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]);

    /// <summary>A MeterListener on one meter: the instruments published, the last value of each observable, each recorded value.</summary>
    private sealed class InstrumentReadings : IDisposable
    {
        private readonly MeterListener _listener = new();

        public InstrumentReadings(Meter meter)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    Instruments.Add(instrument);
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.MeasurementsCompleted = (_, _) => Unpublished++;
            _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Take(instrument, value));
            _listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Take(instrument, value));
            _listener.Start();
        }

        public List<Instrument> Instruments { get; } = [];

        public Dictionary<string, double> Values { get; } = [];

        public Dictionary<string, List<double>> Recorded { get; } = [];

        public int Unpublished { get; private set; }

        public void Observe()
        {
            Values.Clear();
            _listener.RecordObservableInstruments();
        }

        public void Dispose() => _listener.Dispose();

        private void Take(Instrument instrument, double value)
        {
            if (instrument.IsObservable)
            {
                Values[instrument.Name] = value;
            }
            else
            {
                if (!Recorded.TryGetValue(instrument.Name, out List<double>? values))
                {
                    values = [];
                    Recorded[instrument.Name] = values;
                }

                values.Add(value);
            }
        }
    }
}
