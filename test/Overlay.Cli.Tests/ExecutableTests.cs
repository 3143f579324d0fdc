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
        Assert.That(help.StdOut, Does.Contain("leases list"));
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

    [Test]
    public async Task A_watch_ends_with_exit_0_on_SIGINT()
    {
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in (string[])[Overlayctl(), "leases", "watch", "--etcd-endpoints", Etcd.Endpoint, "--etcd-prefix", Prefix])
        {
            start.ArgumentList.Add(arg);
        }

        using Process watch = Process.Start(start)!;
        try
        {
            Task<string?> header = watch.StandardOutput.ReadLineAsync();
            Task<string?> first = header.ContinueWith(_ => watch.StandardOutput.ReadLine(), TaskScheduler.Default);
            Assert.That(await first.WaitAsync(TimeSpan.FromSeconds(20)), Does.StartWith("ADDED      198.18.9.0/24"));

            Shell.Run("kill", "-INT", watch.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).EnsureSuccess();
            await watch.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));

            Assert.That(watch.ExitCode, Is.Zero, await watch.StandardError.ReadToEndAsync());
        }
        finally
        {
            if (!watch.HasExited)
            {
                watch.Kill();
            }
        }
    }
}
