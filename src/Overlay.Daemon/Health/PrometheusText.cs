using System.Globalization;
using System.Text;

namespace Overlay.Daemon.Health;

/// <summary>Writes <see cref="DaemonMetric"/>s in the Prometheus text exposition format 0.0.4, in the order given.</summary>
public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Write(IEnumerable<DaemonMetric> metrics)
    {
        var text = new StringBuilder(4096);
        foreach (DaemonMetric metric in metrics)
        {
            if (metric.Read() is not { } value)
            {
                continue;
            }

            string type = metric.Kind switch
            {
                MetricKind.Counter => "counter",
                MetricKind.Summary => "summary",
                _ => "gauge",
            };
            text.Append(CultureInfo.InvariantCulture, $"# HELP {metric.Family} {metric.Help}\n# TYPE {metric.Family} {type}\n");
            if (metric.Kind == MetricKind.Summary)
            {
                text.Append(CultureInfo.InvariantCulture, $"{metric.Family}_sum {Number(value)}\n{metric.Family}_count {metric.Count?.Invoke() ?? 0}\n");
            }
            else
            {
                text.Append(CultureInfo.InvariantCulture, $"{metric.Family} {Number(value)}\n");
            }
        }

        return text.ToString();
    }

    /// <summary>The shortest text that reads back as the same double; Prometheus's spelling of infinity and NaN.</summary>
    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };
}
