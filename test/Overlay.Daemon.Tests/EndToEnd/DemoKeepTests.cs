using Overlay.Demo;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>The pure pieces of <c>demo.sh --keep</c>: what ends the wait, and the suggestions it prints.</summary>
public class DemoKeepTests
{
    [Test]
    public async Task Stdin_at_its_end_does_not_end_the_wait_only_a_signal_does()
    {
        var signal = new TaskCompletionSource<StopReason>();

        Task<StopReason> wait = KeepRunning.WaitAsync(new StringReader(""), signal.Task);
        await Task.Delay(300);
        bool endedWithoutSignal = wait.IsCompleted;
        signal.SetResult(StopReason.Terminate);

        Assert.That(endedWithoutSignal, Is.False, "no terminal (stdin at its end, as from /dev/null) must not end the demo");
        Assert.That(await wait.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo(StopReason.Terminate));
    }

    [Test]
    public async Task A_line_on_stdin_ends_the_wait_as_Enter()
    {
        var signal = new TaskCompletionSource<StopReason>();

        StopReason reason = await KeepRunning.WaitAsync(new StringReader("\n"), signal.Task).WaitAsync(TimeSpan.FromSeconds(5));

        Assert.That(reason, Is.EqualTo(StopReason.Enter));
    }

    [Test]
    public async Task A_signal_ends_the_wait_while_stdin_gives_nothing()
    {
        using var silent = new SilentReader();
        var signal = new TaskCompletionSource<StopReason>();

        Task<StopReason> wait = KeepRunning.WaitAsync(silent, signal.Task);
        await silent.Reading.WaitAsync(TimeSpan.FromSeconds(5)); // stdin is being read
        signal.SetResult(StopReason.Interrupt);

        Assert.That(await wait.WaitAsync(TimeSpan.FromSeconds(5)), Is.EqualTo(StopReason.Interrupt));
    }

    /// <summary>A terminal nobody types into: ReadLine blocks until the test ends.</summary>
    private sealed class SilentReader : TextReader
    {
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _reading = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Reading => _reading.Task;

        public override string? ReadLine()
        {
            _reading.TrySetResult();
            _ended.Task.Wait();
            return null;
        }

        protected override void Dispose(bool disposing)
        {
            _ended.TrySetResult();
            base.Dispose(disposing);
        }
    }

    [Test]
    public void A_command_too_long_to_align_to_keeps_its_comment_close()
    {
        string longCommand = "ip netns exec sw dotnet /usr/local/lib/overlayctl/overlayctl.dll --etcd-endpoints http://192.0.2.1:2379 leases watch";

        string text = LookAround.Format([new("ip route show dev flannel.1", "routes"), new(longCommand, "changes", RunsUntilInterrupted: true)]);

        Assert.That(text, Is.EqualTo("  ip route show dev flannel.1   # routes\n  " + longCommand + "   # changes; runs until Ctrl+C\n"));
        Assert.That(LookAround.Parse(text.Split('\n'))[1], Is.EqualTo(new Suggestion(longCommand, "changes; runs until Ctrl+C", RunsUntilInterrupted: true)));
    }

    [Test]
    public void Suggestions_align_their_comments_and_one_that_keeps_running_says_how_to_stop_it()
    {
        string text = LookAround.Format(
        [
            new("cat /run/flannel/subnet.env"),
            new("ip route show dev flannel.1", "routes"),
            new("overlayctl leases watch", "one line per change", RunsUntilInterrupted: true),
        ]);

        Assert.That(text, Is.EqualTo(
            "  cat /run/flannel/subnet.env\n"
            + "  ip route show dev flannel.1   # routes\n"
            + "  overlayctl leases watch       # one line per change; runs until Ctrl+C\n"));
        Assert.That(LookAround.Parse(text.Split('\n')).Select(s => (s.Command, s.RunsUntilInterrupted)), Is.EqualTo(new[]
        {
            ("cat /run/flannel/subnet.env", false),
            ("ip route show dev flannel.1", false),
            ("overlayctl leases watch", true),
        }));
    }
}
