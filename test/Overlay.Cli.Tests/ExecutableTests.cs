using Overlay.TestKit;

namespace Overlay.Cli.Tests;

/// <summary>The built overlayctl, run as a process: exit codes and streams end to end.</summary>
public sealed class ExecutableTests
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

        CommandResult version = await Shell.RunAsync("dotnet", [dll, "version"]);
        CommandResult help = await Shell.RunAsync("dotnet", [dll, "--help"]);
        CommandResult malformed = await Shell.RunAsync("dotnet", [dll, "leases", "get", "198.18.34"]);
        CommandResult unreachable = await Shell.RunAsync("dotnet", [dll, "leases", "list", "--etcd-endpoints", closed, "--command-timeout", "1s"]);

        Assert.That((version.ExitCode, version.StdOut), Is.EqualTo((0, "overlayctl 0.1.0\n")));
        Assert.That(help.ExitCode, Is.Zero);
        Assert.That(help.StdOut, Does.Contain("leases list"));
        Assert.That(malformed.ExitCode, Is.EqualTo(2));
        Assert.That(malformed.StdErr, Does.StartWith("error: SUBNET '198.18.34' is not a subnet"));
        Assert.That(unreachable.ExitCode, Is.EqualTo(1));
        Assert.That(unreachable.StdErr, Does.StartWith($"error: cannot reach etcd at {closed}"));
        Assert.That(unreachable.StdOut, Is.Empty);
    }
}
