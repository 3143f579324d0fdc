using System.Diagnostics;
using System.Text.RegularExpressions;
using Overlay.Core.SubnetFile;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>subnet.env on a full disk, in a read-only folder, and corrupt at start: on real filesystems (a small tmpfs, a read-only bind mount).</summary>
[NonParallelizable]
public class SubnetFileFaultTests
{
    private const string Old = "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.77.1/24\nFLANNEL_MTU=1234\nFLANNEL_IPMASQ=false\n";

    private const string New = "FLANNEL_NETWORK=198.18.0.0/16\nFLANNEL_SUBNET=198.18.77.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n";

    [Test]
    public void On_a_full_disk_the_old_file_stays_whole_and_the_error_names_the_file_and_ENOSPC()
    {
        Root.Require();
        using SmallDisk disk = SmallDisk.Tmpfs();
        string path = Path.Combine(disk.Folder, "subnet.env");
        File.WriteAllText(path, Old);
        disk.Fill();

        IOException error = Assert.Throws<IOException>(() => AtomicFile.Write(path, New))!;

        Assert.That(error.Message, Is.EqualTo($"could not write {path}: No space left on device (ENOSPC); the old file is left as it was"));
        Assert.That(File.ReadAllText(path), Is.EqualTo(Old));
        Assert.That(Directory.GetFiles(disk.Folder, "*.tmp"), Is.Empty, "no temp file is left behind");

        disk.Free();
        AtomicFile.Write(path, New);
        Assert.That(File.ReadAllText(path), Is.EqualTo(New));
    }

    [Test]
    public void In_a_read_only_folder_the_old_file_stays_whole_and_the_error_names_the_file_and_EROFS()
    {
        Root.Require();
        using SmallDisk disk = SmallDisk.ReadOnly(folder => File.WriteAllText(Path.Combine(folder, "subnet.env"), Old));
        string path = Path.Combine(disk.Folder, "subnet.env");

        IOException error = Assert.Throws<IOException>(() => AtomicFile.Write(path, New))!;

        Assert.That(error.Message, Is.EqualTo($"could not write {path}: Read-only file system (EROFS); the old file is left as it was"));
        Assert.That(File.ReadAllText(path), Is.EqualTo(Old));
    }

    [Test]
    public async Task A_node_on_a_full_disk_keeps_the_old_file_says_why_once_and_writes_it_when_space_returns_then_ignores_a_corrupt_one()
    {
        Root.Require();
        await using OverlayCluster cluster = await Daemon.StartClusterAsync(nodes: 1, start: false);
        ClusterNode node = cluster.Nodes[0];
        using SmallDisk disk = SmallDisk.Tmpfs();
        string path = Path.Combine(disk.Folder, "subnet.env");
        File.WriteAllText(path, Old);
        disk.Fill();
        string[] flags = ["--subnet-file", path, "--pods-dir", Path.Combine(node.Folder, "pods")];

        try
        {
            using (var notify = new NotifySocket("fulldisk"))
            {
                node.StartDaemon(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path }, flags);

                string? waiting = await notify.WaitForStatusAsync("ENOSPC", TimeSpan.FromSeconds(60));
                Assert.That(waiting, Does.Contain($"could not write {path}: No space left on device (ENOSPC)"));
                Assert.That(await notify.WaitForAsync(m => m == "READY=1", TimeSpan.FromSeconds(3)), Is.Null, "not ready without its subnet file");
                Assert.That(File.ReadAllText(path), Is.EqualTo(Old), "the old file stays whole");

                disk.Free();
                var freed = Stopwatch.StartNew();
                Assert.That(await notify.WaitForAsync(m => m == "READY=1", TimeSpan.FromSeconds(30)), Is.Not.Null, "ready once space returns, without a restart");
                Assert.That(freed.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "retried every second at most");
                Assert.That(File.ReadAllText(path), Does.Contain("FLANNEL_SUBNET=198.18.77.1/24").And.Not.Contain("1234"), "the previous subnet is kept; the file is new");
                Assert.That(node.StopDaemon(), Is.Zero);
                Assert.That(Regex.Count(node.DaemonOutput, "No space left on device"), Is.EqualTo(1), "logged once, though retried:\n" + node.DaemonOutput);
            }

            // A corrupt file at start (a torn write by someone else, a disk error) is ignored with a warning and replaced.
            File.WriteAllText(path, "FLANNEL_SUBNET=\u0000\u0001garbage\n\u00ff");
            using (var notify = new NotifySocket("corrupt"))
            {
                node.StartDaemon(new Dictionary<string, string> { ["NOTIFY_SOCKET"] = notify.Path }, flags);
                Assert.That(await notify.WaitForAsync(m => m == "READY=1", TimeSpan.FromSeconds(30)), Is.Not.Null);
                Assert.That(node.StopDaemon(), Is.Zero);
            }

            Assert.That(node.DaemonOutput, Does.Contain($"ignoring the previous {path}: its FLANNEL_SUBNET or FLANNEL_IPV6_SUBNET is not an IP address/length"));
            Assert.That(SubnetEnvReader.Parse(File.ReadAllText(path))["FLANNEL_SUBNET"], Does.Match(@"^198\.18\.\d+\.1/24$"));
        }
        finally
        {
            node.KillDaemon();
            cluster.AttachLogsIfFailed();
        }
    }
}
