using Microsoft.Extensions.Logging;
using Overlay.Daemon.Hosting.Loop;
using Overlay.Daemon.Underlay;
using Overlay.Leases;
using Overlay.Leases.Store;

namespace Overlay.Daemon.Hosting;

/// <summary>The steps of overlayd's start, each done by the node (<see cref="NodeStartup"/> for real).</summary>
public interface IStartupSteps
{
    /// <summary>Picks the underlay interface; <see cref="UnderlayException"/> while it is not there yet.</summary>
    void ChooseUnderlay();

    /// <summary>Waits for a valid network config in etcd (however long etcd is away).</summary>
    Task LoadConfigAsync(CancellationToken ct);

    /// <summary>Creates, adopts or recreates the VXLAN device(s).</summary>
    void EnsureDevices();

    /// <summary>Acquires this node's lease and puts its address on the device(s); <see cref="OutOfSubnetsException"/> while none is free.</summary>
    Task AcquireLeaseAsync(CancellationToken ct);

    /// <summary>Starts the trigger sources (once), waits for the full lease list and programs every peer.</summary>
    Task FirstReconcileAsync(CancellationToken ct);

    /// <summary>Applies the nftables plan (tables for --ip-masq and forwarding, or none).</summary>
    Task ApplyRulesAsync(CancellationToken ct);

    void WriteSubnetFile();

    /// <summary>/readyz, the log line and READY=1 to systemd.</summary>
    void MarkReady();

    /// <summary>What overlayd is doing, for systemd's status line.</summary>
    void Status(string text);
}

/// <summary>
/// overlayd's start, in order: interface → config → device → lease → first reconcile → rules → subnet.env →
/// ready. A step that cannot succeed yet (no interface, no free subnet) is retried with a backoff capped at
/// <see cref="MaxRetryDelay"/>, so a node that booted long before its interface or a free subnet is ready
/// within a second of it; waits on etcd are capped the same way in the etcd session.
/// </summary>
public sealed partial class StartupSequence(IStartupSteps steps, TimeProvider time, ILogger logger)
{
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);

    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(1);

    public async Task RunAsync(CancellationToken ct)
    {
        steps.Status("choosing the underlay interface");
        await RetryAsync(e => e is UnderlayException, () =>
        {
            steps.ChooseUnderlay();
            return Task.CompletedTask;
        }, LogUnderlayRetry, ct);

        steps.Status("waiting for a valid network config in etcd");
        await steps.LoadConfigAsync(ct);

        steps.Status("creating the VXLAN device");
        steps.EnsureDevices();

        // flannel exits when the network is full; overlayd waits for a lease to be freed or the config to grow.
        steps.Status("acquiring a subnet lease");
        await RetryAsync(e => e is OutOfSubnetsException, () => steps.AcquireLeaseAsync(ct), LogNoSubnet, ct);

        // The kernel, nft or the subnet file failing now may pass (a busy kernel, a read-only moment): try again,
        // as the loop does after ready, rather than exit.
        // While a step is retried, the status line is its reason (nft missing and how to install it, a full disk).
        steps.Status("programming the peers");
        await RetryAsync(NodeLoop.IsRetryable, () => steps.FirstReconcileAsync(ct), LogStepRetry, ct);
        steps.Status("applying the nftables rules");
        await RetryAsync(NodeLoop.IsRetryable, () => steps.ApplyRulesAsync(ct), LogStepRetry, ct);
        steps.Status("writing the subnet file");
        await RetryAsync(NodeLoop.IsRetryable, () =>
        {
            steps.WriteSubnetFile();
            return Task.CompletedTask;
        }, LogStepRetry, ct);
        steps.MarkReady();
    }

    /// <summary>The delays between attempts: 250 ms, 500 ms, then every second.</summary>
    public static TimeSpan NextDelay(TimeSpan previous) =>
        previous <= TimeSpan.Zero ? FirstRetryDelay : TimeSpan.FromTicks(Math.Min(previous.Ticks * 2, MaxRetryDelay.Ticks));

    private async Task RetryAsync(Func<Exception, bool> notYet, Func<Task> step, Action<ILogger, string> log, CancellationToken ct)
    {
        TimeSpan delay = TimeSpan.Zero;
        string? lastReason = null;
        while (true)
        {
            try
            {
                await step();
                return;
            }
            catch (Exception e) when (notYet(e))
            {
                // One log line per distinct reason: a node waiting an hour for its interface logs once.
                if (e.Message != lastReason)
                {
                    log(logger, e.Message);
                    lastReason = e.Message;
                }

                steps.Status(e.Message);
                delay = NextDelay(delay);
                await Task.Delay(delay, time, ct);
            }
        }
    }

    [LoggerMessage(1021, LogLevel.Warning, "underlay not ready yet, retrying: {Error}")]
    private static partial void LogUnderlayRetry(ILogger logger, string error);

    [LoggerMessage(1015, LogLevel.Error, "start-up step failed, will retry every second: {Error}")]
    private static partial void LogStepRetry(ILogger logger, string error);

    [LoggerMessage(1024, LogLevel.Warning, "no subnet can be leased yet, retrying: {Error}")]
    private static partial void LogNoSubnet(ILogger logger, string error);
}
