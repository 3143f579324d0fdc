using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Daemon.Dns;

namespace Overlay.Daemon.Tests.Dns;

/// <summary>A measurement, run by hand: dnsperf against the server with the stand-in answerer (the I/O edge's cost).</summary>
[Explicit("a measurement: run by name")]
public class DnsServerThroughputTests
{
    [Test]
    public async Task Dnsperf_against_the_server_with_a_trivial_answerer()
    {
        await using var server = new DnsServer(new IPEndPoint(IPAddress.Loopback, 0), new TestAnswerer(),
            new DnsForwarder([], NullLogger.Instance, TimeProvider.System), NullLogger.Instance, TimeProvider.System);
        server.Start();
        string names = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"names-{Guid.NewGuid():N}.txt");
        await File.WriteAllLinesAsync(names, Enumerable.Range(0, 1000).Select(i => $"svc{i}.default.svc.cluster.test A"));
        try
        {
            var start = new ProcessStartInfo("dnsperf") { RedirectStandardOutput = true };
            foreach (string argument in (string[])["-s", "127.0.0.1", "-p", server.LocalEndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-d", names, "-l", "5", "-c", "4", "-Q", "200000"])
            {
                start.ArgumentList.Add(argument);
            }

            using Process dnsperf = Process.Start(start)!;
            string output = await dnsperf.StandardOutput.ReadToEndAsync();
            await dnsperf.WaitForExitAsync();
            await TestContext.Out.WriteLineAsync(output);

            Assert.That(output, Does.Contain("Queries completed"));
        }
        finally
        {
            File.Delete(names);
        }
    }
}
