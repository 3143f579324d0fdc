using System.Net;
using System.Net.Sockets;

namespace Overlay.Cli.Tests.Commands;

public sealed class ConnectionTests : CliFixture
{
    /// <summary>A local port nothing listens on: connections to it are refused at once.</summary>
    internal static string ClosedEndpoint()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    [Test]
    public async Task An_unreachable_endpoint_fails_with_exit_1_naming_the_endpoints_and_how_to_point_elsewhere()
    {
        string closed = ClosedEndpoint();

        CliResult result = await Cli.RunAsync(["leases", "list", "--etcd-endpoints", closed, "--command-timeout=1s"], new Dictionary<string, string?>(), "");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Out, Is.Empty);
        Assert.That(result.Err, Does.StartWith($"error: cannot reach etcd at {closed} (endpoints from flag --etcd-endpoints): Unavailable"));
        Assert.That(result.Err, Does.Contain("point overlayctl at your etcd with --etcd-endpoints=https://HOST:2379 (or OVERLAYD_ETCD_ENDPOINTS / FLANNELD_ETCD_ENDPOINTS)"));
    }

    [Test]
    public async Task The_error_says_when_the_endpoints_came_from_the_environment()
    {
        string closed = ClosedEndpoint();
        var environment = new Dictionary<string, string?> { ["FLANNELD_ETCD_ENDPOINTS"] = closed };

        CliResult result = await Cli.RunAsync(["status", "--command-timeout=1s"], environment, "");

        Assert.That(result.ExitCode, Is.EqualTo(1));
        Assert.That(result.Err, Does.StartWith($"error: cannot reach etcd at {closed} (endpoints from environment variable FLANNELD_ETCD_ENDPOINTS)"));
    }

    [Test]
    public async Task OVERLAYD_ETCD_variables_point_overlayctl_at_etcd_over_FLANNELD_ones()
    {
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        var environment = new Dictionary<string, string?>
        {
            ["FLANNELD_ETCD_ENDPOINTS"] = ClosedEndpoint(),
            ["OVERLAYD_ETCD_ENDPOINTS"] = Etcd.Endpoint,
            ["FLANNELD_ETCD_PREFIX"] = Prefix,
        };

        CliResult result = await Cli.RunAsync(["leases", "get", "198.18.9.0/24", "-o", "json"], environment, "");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        Assert.That(result.Out, Does.Contain("\"publicIP\": \"192.0.2.19\""));
    }
}
