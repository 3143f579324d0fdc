using System.Diagnostics;
using Overlay.TestKit;

namespace Overlay.Cli.Tests;

/// <summary>The built overlayctl, run as a process: exit codes, streams and signals end to end.</summary>
public sealed class ExecutableTests : CliFixture
{
    private static string Overlayctl()
    {
        // The test build copies the referenced executable's assembly next to the tests.
        string path = Path.Combine(AppContext.BaseDirectory, "overlayctl.dll");
        Assert.That(File.Exists(path), Is.True, $"{path} is missing");
        return path;
    }

    [Test]
    public async Task The_executable_exits_0_when_done_1_when_the_operation_fails_and_2_on_usage_errors()
    {
        string dll = Overlayctl();
        string closed = Commands.ConnectionTests.ClosedEndpoint();
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));

        CommandResult version = await Shell.RunAsync("dotnet", [dll, "version"]);
        CommandResult help = await Shell.RunAsync("dotnet", [dll, "--help"]);
        CommandResult list = await Shell.RunAsync("dotnet", [dll, "leases", "list", "--etcd-endpoints", Etcd.Endpoint, "--etcd-prefix", Prefix]);
        CommandResult malformed = await Shell.RunAsync("dotnet", [dll, "leases", "get", "198.18.34"]);
        CommandResult unknown = await Shell.RunAsync("dotnet", [dll, "leases", "get", "198.18.34.0/24", "--etcd-endpoints", Etcd.Endpoint, "--etcd-prefix", Prefix]);
        CommandResult unreachable = await Shell.RunAsync("dotnet", [dll, "leases", "list", "--etcd-endpoints", closed, "--command-timeout", "1s"]);

        Assert.That((version.ExitCode, version.StdOut), Is.EqualTo((0, "overlayctl 0.1.0\n")));
        Assert.That(help.ExitCode, Is.Zero);
        Assert.That(help.StdOut, Does.Contain("  lease, leases "));
        Assert.That(help.StdOut, Does.Contain(": list, get, watch, reserve, release, gc\n"));
        Assert.That(list.ExitCode, Is.Zero, list.StdErr);
        Assert.That(list.StdOut, Does.Contain("198.18.9.0/24   <none>        192.0.2.19   <none>     <none>   <none>   reserved"));
        Assert.That(malformed.ExitCode, Is.EqualTo(2));
        Assert.That(malformed.StdErr, Does.StartWith("error: SUBNET '198.18.34' is not a subnet"));
        Assert.That(unknown.ExitCode, Is.EqualTo(1));
        Assert.That(unknown.StdErr, Does.StartWith("error: no lease or reservation for 198.18.34.0/24"));
        Assert.That(unreachable.ExitCode, Is.EqualTo(1));
        Assert.That(unreachable.StdErr, Does.StartWith($"error: cannot reach etcd at {closed}"));
        Assert.That(unreachable.StdOut, Is.Empty);
    }

    /// <summary>
    /// SIGINT at several moments of a busy watch: right after its first line, and while a stream of changes is
    /// being printed, so that over the runs the signal lands in a write or a flush as well as in the wait.
    /// </summary>
    [TestCase(0)]
    [TestCase(3)]
    [TestCase(30)]
    public async Task A_watch_ends_with_exit_0_on_SIGINT(int millisecondsIntoTheChanges)
    {
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])[Overlayctl(), "leases", "watch", "--etcd-endpoints", Etcd.Endpoint, "--etcd-prefix", Prefix])
        {
            start.ArgumentList.Add(arg);
        }

        using Process watch = Process.Start(start)!;
        using var changes = new CancellationTokenSource();
        try
        {
            Task<string?> header = watch.StandardOutput.ReadLineAsync();
            Task<string?> first = header.ContinueWith(_ => watch.StandardOutput.ReadLine(), TaskScheduler.Default);
            Assert.That(await first.WaitAsync(TimeSpan.FromSeconds(20)), Does.StartWith("ADDED      198.18.9.0/24"));
            Task<string> rest = watch.StandardOutput.ReadToEndAsync();
            Task<string> errors = watch.StandardError.ReadToEndAsync();

            Task writer = Task.Run(() => WriteChanges(changes.Token), CancellationToken.None);
            if (millisecondsIntoTheChanges > 0)
            {
                await Task.Delay(millisecondsIntoTheChanges);
            }

            Shell.Run("kill", "-INT", watch.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess();
            await watch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            await changes.CancelAsync();
            await writer;

            Assert.That(watch.ExitCode, Is.Zero, await errors + await rest);
            Assert.That(await errors, Is.Empty);
        }
        finally
        {
            await changes.CancelAsync();
            if (!watch.HasExited)
            {
                watch.Kill();
            }
        }
    }

    /// <summary>
    /// The race that once failed in CI, made certain: the watch blocks writing its initial listing into a full
    /// stdout pipe, SIGINT arrives, then the pipe is drained, so the write returns and the flush after it runs
    /// with the interrupt already requested.
    /// </summary>
    [Test]
    public async Task A_watch_interrupted_while_its_output_is_blocked_exits_0_once_the_output_drains()
    {
        // About 90 KB of lines: more than a pipe holds (64 KiB).
        await PutReservationsAsync(800);
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])[Overlayctl(), "leases", "watch", "--etcd-endpoints", Etcd.Endpoint, "--etcd-prefix", Prefix])
        {
            start.ArgumentList.Add(arg);
        }

        using Process watch = Process.Start(start)!;
        try
        {
            Task<string> errors = watch.StandardError.ReadToEndAsync();
            Assert.That(Poll.Until(() => BlockedWritingAPipe(watch.Id), TimeSpan.FromSeconds(30)), Is.True, "the watch never blocked on its output");

            Shell.Run("kill", "-INT", watch.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess();
            string output = await watch.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
            await watch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));

            Assert.That(watch.ExitCode, Is.Zero, await errors);
            Assert.That(await errors, Is.Empty);
            Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.GreaterThan(600));
        }
        finally
        {
            if (!watch.HasExited)
            {
                watch.Kill();
            }
        }
    }

    /// <summary>Whether a thread of the process sleeps in the kernel's pipe write (wchan pipe_write or anon_pipe_write).</summary>
    private static bool BlockedWritingAPipe(int pid)
    {
        foreach (string task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "wchan")).EndsWith("pipe_write", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (IOException)
            {
                // The thread ended meanwhile.
            }
        }

        return false;
    }

    /// <summary>Reservations 198.18.0.0/26, 198.18.0.64/26, ...: through etcd's JSON gateway, 100 to a transaction.</summary>
    private async Task PutReservationsAsync(int count)
    {
        using var http = new HttpClient { BaseAddress = new Uri(Etcd.Endpoint) };
        for (int first = 0; first < count; first += 100)
        {
            var puts = new List<string>();
            for (int i = first; i < Math.Min(count, first + 100); i++)
            {
                string subnetKey = $"198.18.{i / 4}.{i % 4 * 64}-26";
                puts.Add("{\"requestPut\":{\"key\":\"" + Base64(Key(subnetKey)) + "\",\"value\":\"" + Base64(Value("192.0.2.19")) + "\"}}");
            }

            using var body = new StringContent("{\"success\":[" + string.Join(",", puts) + "]}");
            using HttpResponseMessage response = await http.PostAsync(new Uri("/v3/kv/txn", UriKind.Relative), body);
            Assert.That(response.IsSuccessStatusCode, Is.True, await response.Content.ReadAsStringAsync());
        }

        static string Base64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Changes one reservation over and over (each a line of the watch) until told to stop.</summary>
    private void WriteChanges(CancellationToken stop)
    {
        for (int i = 0; i < 200 && !stop.IsCancellationRequested; i++)
        {
            Etcd.Etcdctl("put", Key("198.18.9.0-24"), Value("192.0.2.19", owner: $"node-{i}")).EnsureSuccess();
        }
    }
}
