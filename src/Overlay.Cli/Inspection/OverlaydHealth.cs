using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Overlay.Netlink;

namespace Overlay.Cli.Inspection;

/// <summary>What overlayd's health endpoint said: /readyz's status and text, and the metrics an operator looks at first.</summary>
internal sealed record HealthReading(Uri Url, string? Error, int? ReadyStatus, string? ReadyText, IReadOnlyDictionary<string, double> Metrics)
{
    public bool Reachable => Error is null;

    public bool? Ready => ReadyStatus is { } status ? status == 200 : null;

    public double? Metric(string name) => Metrics.TryGetValue(name, out double value) ? value : null;
}

/// <summary>
/// Reads overlayd's /readyz and /metrics (<c>--healthz-ip</c>:<c>--healthz-port</c>). With a namespace, the
/// connection's socket is made inside it, so the node's own addresses are reachable as from the node.
/// </summary>
internal static class OverlaydHealth
{
    /// <summary>The metrics <c>node status</c> shows; the JSON has one member for each, null when overlayd did not report it.</summary>
    public static readonly IReadOnlyList<string> KeyMetrics =
    [
        "overlay_ready",
        "overlay_peers_programmed",
        "overlay_leases_skipped",
        "overlay_repairs_total",
        "overlay_etcd_reachable",
        "overlay_etcd_errors_total",
        "overlay_lease_expiry_seconds",
        "overlay_reconcile_last_duration_seconds",
        "overlay_watch_lag_seconds",
    ];

    public static async Task<HealthReading> ReadAsync(string? netns, Uri url, TimeSpan timeout, CancellationToken ct)
    {
        using var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectTimeout = timeout,
            ConnectCallback = async (context, token) =>
            {
                DnsEndPoint endpoint = context.DnsEndPoint;
                IPAddress address = IPAddress.TryParse(endpoint.Host, out IPAddress? literal)
                    ? literal
                    : (await Dns.GetHostAddressesAsync(endpoint.Host, token))[0];
                // A socket belongs to the namespace it was made in, whichever thread connects it later.
                Socket socket = netns is null
                    ? new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
                    : NamedNetworkNamespace.Run(netns, () => new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var client = new HttpClient(handler) { Timeout = timeout };
        try
        {
            using HttpResponseMessage ready = await client.GetAsync(new Uri(url, "/readyz"), ct);
            string readyText = (await ready.Content.ReadAsStringAsync(ct)).Trim();
            string metrics = await client.GetStringAsync(new Uri(url, "/metrics"), ct);
            return new HealthReading(url, null, (int)ready.StatusCode, readyText, ParseMetrics(metrics));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or SocketException or IOException && !ct.IsCancellationRequested)
        {
            string why = e is TaskCanceledException ? $"no answer within {timeout.TotalSeconds:0}s" : e.InnerException?.Message ?? e.Message;
            return new HealthReading(url, why, null, null, new Dictionary<string, double>());
        }
    }

    /// <summary>Prometheus text format: <c>name value</c> lines of unlabelled samples; comments and labelled series are left out.</summary>
    public static IReadOnlyDictionary<string, double> ParseMetrics(string text)
    {
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#' || line.Contains('{', StringComparison.Ordinal))
            {
                continue;
            }

            string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && Number(parts[1]) is { } value)
            {
                metrics[parts[0]] = value;
            }
        }

        return metrics;
    }

    private static double? Number(string text) => text switch
    {
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : null,
    };
}

/// <summary>The nftables tables of a node, as <c>nft list tables</c> (run in the node's namespace) names them.</summary>
internal static class NftTables
{
    public static async Task<(IReadOnlyList<string> Tables, string? Error)> ListAsync(string? netns, CancellationToken ct)
    {
        try
        {
            Core.Processes.ChildProcessResult result = await Core.Processes.ChildProcess.RunAsync("nft", ["list", "tables"], null, null, TimeSpan.FromSeconds(5), ct,
                startOn: netns is null ? null : start => NamedNetworkNamespace.Run(netns, start));
            return result.Succeeded
                ? (Parse(result.StandardOutput), null)
                : ([], $"nft list tables failed: {result.StandardError.Trim()}");
        }
        catch (Core.Processes.ChildProcessException e)
        {
            return ([], $"cannot run nft: {e.InnerException?.Message ?? e.Message}");
        }
    }

    /// <summary>"table ip overlay" lines → "ip overlay".</summary>
    public static IReadOnlyList<string> Parse(string output) =>
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.StartsWith("table ", StringComparison.Ordinal))
            .Select(l => l["table ".Length..])
            .ToList();
}
