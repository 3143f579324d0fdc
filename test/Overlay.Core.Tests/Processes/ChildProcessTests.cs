using System.Diagnostics;
using Overlay.Core.Processes;

namespace Overlay.Core.Tests.Processes;

public class ChildProcessTests
{
    [Test]
    public async Task The_exit_status_and_both_outputs_come_back()
    {
        ChildProcessResult result = await ChildProcess.RunAsync("/bin/sh", ["-c", "echo out; echo err >&2; exit 3"]);

        Assert.That(result.ExitCode, Is.EqualTo(3));
        Assert.That(result.StandardOutput, Is.EqualTo("out\n"));
        Assert.That(result.StandardError, Is.EqualTo("err\n"));
        Assert.That(result.Succeeded, Is.False);
    }

    [Test]
    public void A_failed_command_names_the_command_its_exit_status_and_stderr()
    {
        var error = Assert.ThrowsAsync<ChildProcessException>(async () =>
            (await ChildProcess.RunAsync("/bin/sh", ["-c", "echo no such table >&2; exit 7"])).EnsureSuccess());

        Assert.That(error!.Message, Is.EqualTo("`/bin/sh -c 'echo no such table >&2; exit 7'` exited with status 7: no such table"));
        Assert.That(error.ExitCode, Is.EqualTo(7));
        Assert.That(error.StandardError, Is.EqualTo("no such table\n"));
        Assert.That(error.Failure, Is.EqualTo(ChildProcessFailure.Exited));
        Assert.That(error, Is.InstanceOf<IOException>());
    }

    [Test]
    public async Task A_successful_result_passes_EnsureSuccess_unchanged()
    {
        ChildProcessResult result = await ChildProcess.RunAsync("/bin/sh", ["-c", "true"]);

        Assert.That(result.EnsureSuccess(), Is.SameAs(result));
    }

    [Test]
    public async Task Standard_input_is_delivered_and_closed()
    {
        ChildProcessResult result = await ChildProcess.RunAsync("/bin/sh", ["-c", "cat; echo end"], standardInput: "table ip overlay {}\n");

        Assert.That(result.StandardOutput, Is.EqualTo("table ip overlay {}\nend\n"));
    }

    [Test]
    public async Task Without_input_the_child_reads_end_of_file_at_once()
    {
        ChildProcessResult result = await ChildProcess.RunAsync("/bin/sh", ["-c", "cat; echo end"], timeout: TimeSpan.FromSeconds(10));

        Assert.That(result.StandardOutput, Is.EqualTo("end\n"));
    }

    [Test]
    public async Task Environment_variables_are_set_over_the_inherited_ones()
    {
        ChildProcessResult result = await ChildProcess.RunAsync("/bin/sh", ["-c", "echo \"$CNI_COMMAND $PATH\""],
            environment: new Dictionary<string, string> { ["CNI_COMMAND"] = "ADD" });

        Assert.That(result.StandardOutput, Is.EqualTo($"ADD {Environment.GetEnvironmentVariable("PATH")}\n"));
    }

    [Test]
    public async Task Megabytes_on_both_outputs_and_stdin_do_not_deadlock()
    {
        // Far beyond a pipe's 64 KiB: a runner that read one stream after the other, or wrote all input first, would hang.
        string input = new('x', 4 * 1024 * 1024);
        ChildProcessResult result = await ChildProcess.RunAsync("/bin/sh",
            ["-c", "head -c 3000000 /dev/zero | tr '\\0' e >&2; cat; head -c 3000000 /dev/zero | tr '\\0' o"],
            standardInput: input, timeout: TimeSpan.FromSeconds(60));

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.StandardError, Has.Length.EqualTo(3_000_000));
        Assert.That(result.StandardOutput, Has.Length.EqualTo(input.Length + 3_000_000));
    }

    [Test]
    public void A_child_that_outlives_its_time_limit_is_killed_with_its_children()
    {
        string marker = Path.Combine(Path.GetTempPath(), $"overlay-child-{Guid.NewGuid():N}");
        var clock = Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<ChildProcessException>(() =>
            ChildProcess.RunAsync("/bin/sh", ["-c", $"echo started >&2; (sleep 2; touch {marker}) & sleep 30"], timeout: TimeSpan.FromMilliseconds(500)));

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(error!.Failure, Is.EqualTo(ChildProcessFailure.TimedOut));
        Assert.That(error.ExitCode, Is.Null);
        Assert.That(error.Message, Does.StartWith("`/bin/sh -c").And.Contain("did not finish within 0.5 s"));
        Thread.Sleep(TimeSpan.FromSeconds(3));
        Assert.That(File.Exists(marker), Is.False, "the background child was not killed");
    }

    [Test]
    public void A_grandchild_holding_the_output_open_does_not_hang_the_caller()
    {
        var clock = Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<ChildProcessException>(() =>
            ChildProcess.RunAsync("/bin/sh", ["-c", "sleep 30 & exit 0"], timeout: TimeSpan.FromMilliseconds(500)));

        Assert.That(error!.Failure, Is.EqualTo(ChildProcessFailure.TimedOut));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public void Cancellation_kills_the_child_and_throws_OperationCanceledException()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        Assert.That(async () => await ChildProcess.RunAsync("/bin/sh", ["-c", "sleep 30"], ct: cancel.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public void A_missing_program_fails_to_start_with_its_name()
    {
        var error = Assert.ThrowsAsync<ChildProcessException>(() => ChildProcess.RunAsync("/nonexistent/overlay-no-such-program", ["x"]));

        Assert.That(error!.Failure, Is.EqualTo(ChildProcessFailure.NotStarted));
        Assert.That(error.Message, Does.StartWith("cannot start `/nonexistent/overlay-no-such-program x`: "));
        Assert.That(error.InnerException, Is.Not.Null);
    }

    [Test]
    public async Task The_start_can_be_run_where_the_caller_chooses()
    {
        int calls = 0;
        ChildProcessResult result = await ChildProcess.RunAsync("/bin/sh", ["-c", "echo here"], startOn: start =>
        {
            calls++;
            return start();
        });

        Assert.That(calls, Is.EqualTo(1));
        Assert.That(result.StandardOutput, Is.EqualTo("here\n"));
    }
}
