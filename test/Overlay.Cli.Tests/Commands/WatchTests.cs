using System.Text.Json;
using Overlay.TestKit;

namespace Overlay.Cli.Tests.Commands;

public sealed class WatchTests : CliFixture
{
    /// <summary>A running <c>overlayctl leases watch</c>: its output so far, and how to stop it.</summary>
    private sealed class RunningWatch(Task<int> exit, SharedWriter output, SharedWriter error, CancellationTokenSource stop)
    {
        public string[] Lines => output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        public string Error => error.ToString();

        public bool WaitForLines(int count) => Poll.Until(() => Lines.Length >= count, TimeSpan.FromSeconds(15));

        public async Task<int> StopAsync()
        {
            await stop.CancelAsync();
            int code = await exit.WaitAsync(TimeSpan.FromSeconds(15));
            stop.Dispose();
            return code;
        }
    }

    private RunningWatch StartWatch(params string[] flags)
    {
        var output = new SharedWriter();
        var error = new SharedWriter();
        var stop = new CancellationTokenSource();
        string[] args = ["leases", "watch", .. flags, "--etcd-endpoints", Etcd.Endpoint, "--etcd-prefix", Prefix];
        Task<int> exit = Task.Run(() => OverlayCtl.RunAsync(args, new Dictionary<string, string?>(), TextReader.Null, output, error, TimeProvider.System, stop.Token));
        return new RunningWatch(exit, output, error, stop);
    }

    /// <summary>Stops the watch from inside its first lease line, so the interrupt lands between the line and its flush.</summary>
    private sealed class InterruptingWriter(CancellationTokenSource stop) : TextWriter
    {
        private readonly SharedWriter text = new();

        public override System.Text.Encoding Encoding => System.Text.Encoding.UTF8;

        public override void Write(char value) => text.Write(value);

        public override void Write(string? value)
        {
            text.Write(value);
            if (value?.StartsWith("ADDED", StringComparison.Ordinal) == true)
            {
                stop.Cancel();
            }
        }

        public override string ToString() => text.ToString();
    }

    [Test]
    public async Task An_interrupt_between_a_printed_line_and_its_flush_still_ends_the_watch_with_exit_0()
    {
        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        using var stop = new CancellationTokenSource();
        var output = new InterruptingWriter(stop);
        var error = new SharedWriter();
        string[] args = ["leases", "watch", "--etcd-endpoints", Etcd.Endpoint, "--etcd-prefix", Prefix];

        int exit = await OverlayCtl.RunAsync(args, new Dictionary<string, string?>(), TextReader.Null, output, error, TimeProvider.System, stop.Token)
            .WaitAsync(TimeSpan.FromSeconds(20));

        Assert.That(stop.IsCancellationRequested, Is.True, "the watch printed no lease line: " + output);
        Assert.That(exit, Is.Zero, error.ToString());
        Assert.That(error.ToString(), Is.Empty);
        Assert.That(output.ToString(), Does.Contain("ADDED      198.18.9.0/24"));
    }

    [Test]
    public async Task Leases_watch_prints_one_line_per_addition_change_and_removal()
    {
        PutLease("198.18.34.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"));
        RunningWatch watch = StartWatch();
        Assert.That(watch.WaitForLines(2), Is.True, "header and the lease present at the start: " + watch.Error);

        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        Assert.That(watch.WaitForLines(3), Is.True);
        PutReservation("198.18.9.0-24", Value("192.0.2.19", owner: "node-i"));
        Assert.That(watch.WaitForLines(4), Is.True);
        Etcd.Etcdctl("del", Key("198.18.34.0-24")).EnsureSuccess();
        Assert.That(watch.WaitForLines(5), Is.True);
        int exit = await watch.StopAsync();

        Assert.That(exit, Is.Zero, watch.Error);
        Assert.That(watch.Lines, Is.EqualTo(new[]
        {
            "EVENT      SUBNET               PUBLIC IP         VTEP MAC            VNI      KIND       OWNER                IPV6 SUBNET",
            "ADDED      198.18.34.0/24       192.0.2.11        0e:2a:11:22:33:44   1        lease      node-a               <none>",
            "ADDED      198.18.9.0/24        192.0.2.19        <none>              <none>   reserved   <none>               <none>",
            "MODIFIED   198.18.9.0/24        192.0.2.19        <none>              <none>   reserved   node-i               <none>",
            "DELETED    198.18.34.0/24       192.0.2.11        0e:2a:11:22:33:44   1        lease      node-a               <none>",
        }));
    }

    [Test]
    public async Task Leases_watch_json_gives_one_JSON_object_per_line_and_watch_only_skips_the_start()
    {
        PutLease("198.18.34.0-24", Value("192.0.2.11", "0e:2a:11:22:33:44", "node-a"));
        RunningWatch all = StartWatch("-o", "json");
        RunningWatch changesOnly = StartWatch("-o", "json", "--watch-only");
        Assert.That(all.WaitForLines(1), Is.True, all.Error);
        await Task.Delay(500); // let the --watch-only run finish its initial list before the change

        PutReservation("198.18.9.0-24", Value("192.0.2.19"));
        Assert.That(all.WaitForLines(2), Is.True);
        Assert.That(changesOnly.WaitForLines(1), Is.True, changesOnly.Error);
        Assert.That(await all.StopAsync(), Is.Zero);
        Assert.That(await changesOnly.StopAsync(), Is.Zero);

        JsonDocument[] events = all.Lines.Select(l => JsonDocument.Parse(l)).ToArray();
        Assert.That(events.Select(e => e.RootElement.GetProperty("type").GetString()), Is.EqualTo(new[] { "ADDED", "ADDED" }));
        Assert.That(events.Select(e => e.RootElement.GetProperty("initial").GetBoolean()), Is.EqualTo(new[] { true, false }));
        Assert.That(events[1].RootElement.GetProperty("subnet").GetString(), Is.EqualTo("198.18.9.0/24"));
        Assert.That(events[1].RootElement.GetProperty("lease").GetProperty("reserved").GetBoolean(), Is.True);
        Assert.That(events[1].RootElement.GetProperty("previous").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(events[1].RootElement.GetProperty("revision").GetInt64(), Is.GreaterThan(events[0].RootElement.GetProperty("revision").GetInt64()));
        Assert.That(changesOnly.Lines, Has.Length.EqualTo(1));
        Assert.That(changesOnly.Lines[0], Is.EqualTo(all.Lines[1].Replace(events[1].RootElement.GetProperty("time").GetString()!, JsonDocument.Parse(changesOnly.Lines[0]).RootElement.GetProperty("time").GetString()!)));
        foreach (JsonDocument e in events)
        {
            e.Dispose();
        }
    }
}
