using System.Net.Sockets;
using System.Text;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>The sd_notify protocol as systemd sees it: a datagram socket named by NOTIFY_SOCKET.</summary>
[NonParallelizable]
public class SystemdNotifyTests
{
    [Test]
    public async Task Ready_comes_after_the_subnet_file_then_status_watchdog_and_stopping_follow()
    {
        Root.Require();
        await using OverlayCluster cluster = await Daemon.StartClusterAsync(nodes: 1, start: false);
        string socketPath = Path.Combine(Path.GetTempPath(), $"ovt-notify-{Environment.ProcessId}.sock");
        File.Delete(socketPath);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        ClusterNode node = cluster.Nodes[0];
        var messages = new List<string>();
        bool subnetFileBeforeReady = false;

        try
        {
            node.StartDaemon(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "1000000" });
            var buffer = new byte[4096];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (!messages.Contains("WATCHDOG=1"))
            {
                int length = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                string message = Encoding.UTF8.GetString(buffer, 0, length);
                if (message == "READY=1")
                {
                    subnetFileBeforeReady = File.Exists(node.SubnetFile);
                }

                messages.Add(message);
            }

            Assert.That(node.StopDaemon(), Is.Zero);
            using var drain = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            while (!messages.Contains("STOPPING=1"))
            {
                int length = await socket.ReceiveAsync(buffer, SocketFlags.None, drain.Token);
                messages.Add(Encoding.UTF8.GetString(buffer, 0, length));
            }
        }
        finally
        {
            cluster.AttachLogsIfFailed();
            File.Delete(socketPath);
        }

        Assert.That(messages, Does.Contain("READY=1"));
        Assert.That(subnetFileBeforeReady, Is.True, "READY=1 must follow the subnet file");
        Assert.That(messages.Where(m => m.StartsWith("STATUS=", StringComparison.Ordinal)), Is.Not.Empty);
        Assert.That(messages.IndexOf("READY=1"), Is.LessThan(messages.IndexOf("STOPPING=1")));
    }
}
