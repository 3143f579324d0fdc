using System.Diagnostics;
using System.Text.RegularExpressions;
using Overlay.Demo;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>The README's main command keeps working: the demo program it runs, end to end.</summary>
[NonParallelizable]
public class DemoTests
{
    [Test]
    public void The_demo_shows_leases_pods_a_full_connectivity_matrix_and_a_service_over_every_pod_then_leaves_nothing_behind()
    {
        Root.Require();
        IReadOnlyList<string> before = NetworkLab.ListNamespaceNames();

        CommandResult demo = Shell.RunAsync("dotnet", [Path.Combine(TestContext.CurrentContext.TestDirectory, "overlay-demo.dll")], TimeSpan.FromMinutes(3))
            .GetAwaiter().GetResult();

        Assert.That(demo.ExitCode, Is.Zero, demo.StdOut + demo.StdErr);
        Assert.That(demo.StdOut, Does.Contain("SUBNET").And.Contain("VTEP MAC"), "the lease table");
        Assert.That(demo.StdOut, Does.Contain("nameserver 198.19.0.10\n  search default.svc.cluster.local svc.cluster.local cluster.local"), "a pod's resolv.conf, cluster DNS at the service network's .10");
        string matrix = demo.StdOut[demo.StdOut.IndexOf("Pod-to-pod connectivity", StringComparison.Ordinal)..demo.StdOut.IndexOf("Every pod reaches every other pod", StringComparison.Ordinal)];
        Assert.That(Regex.Count(matrix, @"\bok\b"), Is.EqualTo(9), "3 x 3 matrix");
        Assert.That(demo.StdOut, Does.Contain("node1's kernel against etcd (overlayctl node status --netns ").And.Contain("Peers:     2 in etcd: 2 ok, 0 broken, 0 skipped").And.Contain("Result: the kernel matches etcd"));
        Assert.That(demo.StdOut, Does.Contain("Result: the path is whole"), "overlayctl trace from node1's pod to node2's");
        Assert.That(demo.StdOut, Does.Not.Contain("FAIL"));

        string clusterIP = Regex.Match(demo.StdOut, @"^demo +(198\.19\.\d+\.\d+) +http:80:8080/tcp +app=demo$", RegexOptions.Multiline).Groups[1].Value;
        Assert.That(clusterIP, Is.Not.Empty, "the service list shows the service with a ClusterIP of the service network");
        Assert.That(Regex.Count(demo.StdOut, @"^http:80/tcp +8080 +198\.18\.\d+\.\d+:8080 +default/\S+-pod\d +198\.18\.\d+\.0-24$", RegexOptions.Multiline), Is.EqualTo(3), "service endpoints: the three pods with their nodes");
        Match counts = Regex.Match(demo.StdOut, $@"^30 connections from node1's pod to demo \({Regex.Escape(clusterIP)}:80\): node1 (\d+), node2 (\d+), node3 (\d+)$", RegexOptions.Multiline);
        Assert.That(counts.Success, Is.True, "the line counting where the connections went");
        int[] perNode = [.. counts.Groups.Values.Skip(1).Select(g => int.Parse(g.Value, System.Globalization.CultureInfo.InvariantCulture))];
        Assert.That(perNode, Has.All.GreaterThan(0), "every pod answered");
        Assert.That(perNode.Sum(), Is.EqualTo(30), "every connection was answered");
        Assert.That(demo.StdOut, Does.Match(@"The backends on the other nodes saw the client's own address 198\.18\.\d+\.2 "));
        Assert.That(demo.StdOut, Does.Match(@"node1's pod, reached by itself through the service \(hairpin\), saw its gateway 198\.18\.\d+\.1 "));
        Assert.That(demo.StdOut, Does.Match($@"getent hosts demo +{Regex.Escape(clusterIP)} +\d+ ms"), "the pod found the service by its short name through cluster DNS");
        Assert.That(demo.StdOut, Does.Match($@"getent hosts demo\.default\.svc\.cluster\.local +{Regex.Escape(clusterIP)} +\d+ ms"));
        Assert.That(demo.StdOut, Does.Match(@"getent hosts www\.example\.test +198\.51\.100\.80 +\d+ ms"), "a name outside the zone, from the upstream");
        Assert.That(demo.StdOut, Does.Match(@"getent hosts nowhere\.example\.test +\(not found\)"));
        Assert.That(demo.StdOut, Does.Match(@"a connection to demo:80 by its short name reached the pod on node[123]"));
        Assert.That(demo.StdOut, Does.Contain($"removed service default/demo; ClusterIP {clusterIP} released"));
        Assert.That(Regex.Count(demo.StdOut, "removed pod "), Is.EqualTo(3));
        // Only the demo's own namespaces (named by its lab prefix): other processes may make and remove theirs meanwhile.
        string lab = Regex.Match(demo.StdOut, @"pod (\S+)-pod1 runs in ").Groups[1].Value;
        Assert.That(lab, Does.StartWith(NetworkLab.NamePrefix));
        Assert.That(NetworkLab.ListNamespaceNames().Except(before).Where(n => n.StartsWith(lab + "-", StringComparison.Ordinal)), Is.Empty, "namespaces left behind");
    }

    [Test]
    public async Task With_keep_and_no_terminal_the_demo_runs_until_SIGTERM_and_every_command_it_prints_returns_at_once()
    {
        Root.Require();
        IReadOnlyList<string> before = NetworkLab.ListNamespaceNames();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(TestContext.CurrentContext.TestDirectory, "overlay-demo.dll"), "--keep"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using Process demo = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        string Output()
        {
            lock (output)
            {
                return output.ToString();
            }
        }

        demo.OutputDataReceived += (_, e) => { lock (output) { output.Append(e.Data).Append('\n'); } };
        demo.ErrorDataReceived += (_, e) => { lock (output) { output.Append(e.Data).Append('\n'); } };
        demo.BeginOutputReadLine();
        demo.BeginErrorReadLine();
        demo.StandardInput.Close(); // no terminal: stdin is at its end from the start
        try
        {
            Assert.That(Poll.Until(() => Output().Contains("to tear everything down", StringComparison.Ordinal) || demo.HasExited, TimeSpan.FromMinutes(3)), Is.True, Output());
            Assert.That(demo.HasExited, Is.False, "the demo ended although stdin's end is no Enter:\n" + Output());
            string text = Output();
            Assert.That(text, Does.Not.Contain("FAIL"));

            // Each node's health and metrics URL and its log file.
            foreach (int n in new[] { 1, 2, 3 })
            {
                Match node = Regex.Match(text, $@"^  node{n} +health (http://192\.0\.2\.1{n}:\d+/readyz) +metrics (http://192\.0\.2\.1{n}:\d+/metrics) +log (/\S+)$", RegexOptions.Multiline);
                Assert.That(node.Success, Is.True, $"node{n}'s URLs and log:\n{text}");
                Assert.That(Poll.Until(() => File.Exists(node.Groups[3].Value) && File.ReadAllText(node.Groups[3].Value).Contains(" ready: ", StringComparison.Ordinal), TimeSpan.FromSeconds(5)), Is.True, $"node{n}'s overlayd log in {node.Groups[3].Value}");
            }

            // Every suggested command returns at once, and works; one that keeps running says so and how to stop it.
            string[] lines = text[(text.IndexOf("In another terminal", StringComparison.Ordinal))..].Split('\n').Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal)).ToArray();
            IReadOnlyList<Suggestion> suggestions = LookAround.Parse(lines);
            Assert.That(suggestions, Has.Count.GreaterThanOrEqualTo(15), text);
            Assert.That(suggestions.Where(s => s.Command.Contains(" watch", StringComparison.Ordinal)).Select(s => s.RunsUntilInterrupted), Has.All.True, "a watch is labelled");
            Assert.That(suggestions.Any(s => s.Command.Contains("/metrics", StringComparison.Ordinal)) && suggestions.Any(s => s.Command.Contains("/readyz", StringComparison.Ordinal)), Is.True);
            var slow = new List<string>();
            foreach (Suggestion suggestion in suggestions.Where(s => !s.RunsUntilInterrupted))
            {
                var clock = Stopwatch.StartNew();
                CommandResult run = await Shell.RunAsync("bash", ["-c", suggestion.Command], TimeSpan.FromSeconds(30));
                Assert.That(run.ExitCode, Is.Zero, $"{suggestion.Command}\n{run.StdOut}{run.StdErr}");
                Assert.That(run.StdOut, Is.Not.Empty, suggestion.Command);
                if (clock.Elapsed > TimeSpan.FromSeconds(15))
                {
                    slow.Add($"{suggestion.Command}: {clock.Elapsed.TotalSeconds:F1} s");
                }
            }

            Assert.That(slow, Is.Empty, "commands that did not return at once");
            Assert.That(demo.HasExited, Is.False, "still running after the commands");

            Shell.Run("kill", "-TERM", demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess();
            Assert.That(demo.WaitForExit(TimeSpan.FromSeconds(60)), Is.True, "SIGTERM ends the demo");
            demo.WaitForExit();
            Assert.That(demo.ExitCode, Is.Zero, Output());
            Assert.That(Output(), Does.Contain("SIGTERM received.\nCleaning up:"));
            Assert.That(Regex.Count(Output(), "removed pod "), Is.EqualTo(3));
            string lab = Regex.Match(text, @"pod (\S+)-pod1 runs in ").Groups[1].Value;
            Assert.That(lab, Does.StartWith(NetworkLab.NamePrefix));
            Assert.That(NetworkLab.ListNamespaceNames().Except(before).Where(n => n.StartsWith(lab + "-", StringComparison.Ordinal)), Is.Empty, "namespaces left behind");
        }
        finally
        {
            if (!demo.HasExited)
            {
                Shell.Run("kill", "-TERM", demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                if (!demo.WaitForExit(TimeSpan.FromSeconds(60)))
                {
                    demo.Kill(entireProcessTree: true);
                    DemoRun.TearDown(TextWriter.Null);
                }
            }
        }
    }

    [Test]
    public void Teardown_removes_what_a_killed_demo_run_made_and_no_other_ovt_namespace()
    {
        Root.Require();
        using NetworkLab lab = NetworkLab.Create();
        NetNs bystander = lab.AddNamespace("bystander"); // an ovt* namespace of a running test: the old teardown deleted it

        // A demo run that was killed: its pid is gone; its namespace (with a process in it), /etc/netns folder and temp folder remain.
        using (Process ended = Process.Start("true")!)
        {
            ended.WaitForExit();
            int pid = ended.Id;
            string name = DemoRun.NamespacePrefixOf(pid) + "1-sw";
            string etc = Path.Combine("/etc/netns", name);
            string folder = Directory.CreateTempSubdirectory("overlay-demo-pods-").FullName;
            string state = Path.Combine(DemoRun.StateFolder, pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Process? inside = null;
            try
            {
                Shell.Run("ip", "netns", "add", name).EnsureSuccess();
                inside = Process.Start("ip", ["netns", "exec", name, "sleep", "120"]);
                Directory.CreateDirectory(etc);
                Directory.CreateDirectory(DemoRun.StateFolder);
                File.WriteAllText(state, $"namespaces={DemoRun.NamespacePrefixOf(pid)}\nfolder={folder}\n");

                CommandResult teardown = Shell.Run("dotnet", Path.Combine(TestContext.CurrentContext.TestDirectory, "overlay-demo.dll"), "--teardown");

                Assert.That(teardown.ExitCode, Is.Zero, teardown.StdErr);
                Assert.That(NetworkLab.ListNamespaceNames(), Does.Not.Contain(name));
                Assert.That(inside.WaitForExit(10_000), Is.True, "what ran in the run's namespace is ended");
                Assert.That(Directory.Exists(etc), Is.False);
                Assert.That(Directory.Exists(folder), Is.False);
                Assert.That(File.Exists(state), Is.False, "the record goes with what it recorded");
                Assert.That(NetworkLab.ListNamespaceNames(), Does.Contain(bystander.Name), "another ovt* namespace survives");
            }
            finally
            {
                if (inside is { HasExited: false })
                {
                    inside.Kill();
                }

                inside?.Dispose();
                Shell.Run("ip", "netns", "del", name);
                File.Delete(state);
                if (Directory.Exists(etc))
                {
                    Directory.Delete(etc, recursive: true);
                }

                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }
    }
}
