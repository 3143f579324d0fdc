using NUnit.Framework;
using Overlay.TestKit;

namespace Overlay.TestKit.Tests;

public class ShellTests
{
    [Test]
    public void Run_captures_exit_code_stdout_and_stderr()
    {
        var result = Shell.Run("sh", "-c", "echo out; echo err >&2; exit 3");

        Assert.That(result.ExitCode, Is.EqualTo(3));
        Assert.That(result.StdOut, Is.EqualTo("out\n"));
        Assert.That(result.StdErr, Is.EqualTo("err\n"));
    }

    [Test]
    public void EnsureSuccess_names_the_command_the_exit_code_and_stderr()
    {
        var result = Shell.Run("sh", "-c", "echo broken pipe dream >&2; exit 7");

        var error = Assert.Throws<InvalidOperationException>(() => result.EnsureSuccess());

        Assert.That(error!.Message, Does.Contain("sh -c").And.Contain("7").And.Contain("broken pipe dream"));
    }

    [Test]
    public void EnsureSuccess_returns_a_successful_result_unchanged()
    {
        var result = Shell.Run("true");

        Assert.That(result.EnsureSuccess(), Is.SameAs(result));
    }

    [Test]
    public async Task RunAsync_kills_a_command_that_outlives_its_timeout()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();

        Assert.ThrowsAsync<TimeoutException>(() => Shell.RunAsync("sleep", ["30"], TimeSpan.FromMilliseconds(300)));

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        var result = await Shell.RunAsync("echo", ["still", "works"]);
        Assert.That(result.StdOut, Is.EqualTo("still works\n"));
    }

    [Test]
    public void Running_a_missing_program_throws_with_its_name()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Shell.Run("ovt-no-such-program"));

        Assert.That(error!.Message, Does.Contain("ovt-no-such-program"));
    }
}
