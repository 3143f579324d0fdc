using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Overlay.Daemon.Hosting;
using Overlay.Daemon.Underlay;
using Overlay.Leases;

namespace Overlay.Daemon.Tests.Hosting;

public class StartupSequenceTests
{
    private static readonly string[] Order =
        ["underlay", "config", "devices", "lease", "first reconcile", "rules", "subnet file", "ready"];

    [Test]
    public async Task The_steps_run_in_order_and_ready_comes_last()
    {
        var steps = new RecordingSteps();

        await new StartupSequence(steps, TimeProvider.System, NullLogger.Instance).RunAsync(CancellationToken.None);

        Assert.That(steps.Calls, Is.EqualTo(Order));
    }

    [Test]
    public async Task Systemd_is_told_what_the_node_waits_for_at_each_step()
    {
        var steps = new RecordingSteps();

        await new StartupSequence(steps, TimeProvider.System, NullLogger.Instance).RunAsync(CancellationToken.None);

        Assert.That(steps.Statuses, Is.EqualTo(new[]
        {
            "choosing the underlay interface",
            "waiting for a valid network config in etcd",
            "creating the VXLAN device",
            "acquiring a subnet lease",
            "programming the peers",
            "applying the nftables rules",
            "writing the subnet file",
        }));
    }

    [Test]
    public async Task A_node_that_waited_long_for_its_interface_starts_within_a_second_of_it_appearing()
    {
        var time = new FakeTimeProvider();
        DateTimeOffset appears = time.GetUtcNow() + TimeSpan.FromMinutes(10);
        var steps = new RecordingSteps
        {
            Underlay = () =>
            {
                if (time.GetUtcNow() < appears)
                {
                    throw new UnderlayException("no interface named eth7");
                }
            },
        };

        Task run = new StartupSequence(steps, time, NullLogger.Instance).RunAsync(CancellationToken.None);
        DateTimeOffset done = await AdvanceUntil(run, time, TimeSpan.FromMilliseconds(50));

        Assert.That(done - appears, Is.LessThanOrEqualTo(StartupSequence.MaxRetryDelay));
        Assert.That(steps.Calls, Is.EqualTo(Order));
        Assert.That(steps.Statuses, Does.Contain("no interface named eth7"));
    }

    [Test]
    public async Task No_free_subnet_is_waited_out_and_the_lease_is_taken_within_a_second_of_one_being_freed()
    {
        var time = new FakeTimeProvider();
        DateTimeOffset freed = time.GetUtcNow() + TimeSpan.FromMinutes(3);
        int attempts = 0;
        var steps = new RecordingSteps
        {
            Lease = () =>
            {
                attempts++;
                if (time.GetUtcNow() < freed)
                {
                    throw new OutOfSubnetsException("no free /24 left in 198.18.0.0/16");
                }
            },
        };

        Task run = new StartupSequence(steps, time, NullLogger.Instance).RunAsync(CancellationToken.None);
        DateTimeOffset done = await AdvanceUntil(run, time, TimeSpan.FromMilliseconds(50));

        Assert.That(done - freed, Is.LessThanOrEqualTo(StartupSequence.MaxRetryDelay));
        Assert.That(attempts, Is.GreaterThan(100), "tried again every second, not after an ever longer pause");
        Assert.That(steps.Calls, Is.EqualTo(Order));
    }

    [Test]
    public async Task A_kernel_or_nft_error_in_the_first_reconcile_or_the_rules_is_tried_again_not_fatal()
    {
        int reconciles = 0, rules = 0;
        var steps = new RecordingSteps
        {
            Reconcile = () =>
            {
                if (++reconciles < 3)
                {
                    throw new IOException("dump routes: ENOBUFS (No buffer space available)");
                }
            },
            Rules = () =>
            {
                if (++rules < 2)
                {
                    throw new UnauthorizedAccessException("nft: Operation not permitted");
                }
            },
        };

        await new StartupSequence(steps, TimeProvider.System, NullLogger.Instance).RunAsync(CancellationToken.None);

        Assert.That((reconciles, rules), Is.EqualTo((3, 2)));
        Assert.That(steps.Calls, Is.EqualTo(Order));
        Assert.That(steps.Statuses, Does.Contain("dump routes: ENOBUFS (No buffer space available)"));
    }

    [Test]
    public void A_step_that_fails_for_good_stops_the_start_before_anything_after_it()
    {
        var steps = new RecordingSteps { Devices = () => throw new InvalidOperationException("cannot create flannel.1") };

        Assert.That(async () => await new StartupSequence(steps, TimeProvider.System, NullLogger.Instance).RunAsync(CancellationToken.None),
            Throws.InvalidOperationException.With.Message.EqualTo("cannot create flannel.1"));
        Assert.That(steps.Calls, Is.EqualTo(new[] { "underlay", "config" }));
    }

    [Test]
    public void The_retry_delays_grow_from_a_quarter_second_to_at_most_one_second()
    {
        var delays = new List<TimeSpan>();
        TimeSpan delay = TimeSpan.Zero;
        for (int i = 0; i < 6; i++)
        {
            delay = StartupSequence.NextDelay(delay);
            delays.Add(delay);
        }

        Assert.That(delays.Select(d => d.TotalMilliseconds), Is.EqualTo(new double[] { 250, 500, 1000, 1000, 1000, 1000 }));
    }

    [Test]
    public void Stopping_while_waiting_for_the_interface_ends_the_start()
    {
        var steps = new RecordingSteps { Underlay = () => throw new UnderlayException("no interface named eth7") };
        using var stop = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        Assert.That(async () => await new StartupSequence(steps, TimeProvider.System, NullLogger.Instance).RunAsync(stop.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(steps.Calls, Has.No.Member("ready"));
    }

    /// <summary>Moves fake time forward in small steps until the run ends; returns the fake time it ended at.</summary>
    private static async Task<DateTimeOffset> AdvanceUntil(Task run, FakeTimeProvider time, TimeSpan step)
    {
        for (int i = 0; i < 100_000 && !run.IsCompleted; i++)
        {
            time.Advance(step);
            await Task.Yield();
        }

        await run;
        return time.GetUtcNow();
    }

    private sealed class RecordingSteps : IStartupSteps
    {
        public List<string> Calls { get; } = [];

        public List<string> Statuses { get; } = [];

        public Action Underlay { get; init; } = () => { };

        public Action Devices { get; init; } = () => { };

        public Action Lease { get; init; } = () => { };

        public Action Reconcile { get; init; } = () => { };

        public Action Rules { get; init; } = () => { };

        public void ChooseUnderlay()
        {
            Underlay();
            Calls.Add("underlay");
        }

        public Task LoadConfigAsync(CancellationToken ct)
        {
            Calls.Add("config");
            return Task.CompletedTask;
        }

        public void EnsureDevices()
        {
            Devices();
            Calls.Add("devices");
        }

        public Task AcquireLeaseAsync(CancellationToken ct)
        {
            Lease();
            Calls.Add("lease");
            return Task.CompletedTask;
        }

        public Task FirstReconcileAsync(CancellationToken ct)
        {
            Reconcile();
            Calls.Add("first reconcile");
            return Task.CompletedTask;
        }

        public Task ApplyRulesAsync(CancellationToken ct)
        {
            Rules();
            Calls.Add("rules");
            return Task.CompletedTask;
        }

        public void WriteSubnetFile() => Calls.Add("subnet file");

        public void MarkReady() => Calls.Add("ready");

        public void Status(string text)
        {
            if (Statuses.Count == 0 || Statuses[^1] != text)
            {
                Statuses.Add(text);
            }
        }
    }
}
