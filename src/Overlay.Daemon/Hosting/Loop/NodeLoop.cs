using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Overlay.Daemon.Hosting.Loop;

/// <summary>
/// overlayd's loop: trigger sources publish, each component has a lane (a queue and a task) that coalesces
/// what is queued and runs one pass at a time. Sources start before the first reconcile, so nothing that
/// happens during start-up is missed; lanes start once the node is ready, and begin with what was queued.
/// </summary>
public sealed partial class NodeLoop : ITriggerSink, IAsyncDisposable
{
    /// <summary>The pause after a failed pass before the component runs again.</summary>
    public static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    // Replaced, never changed: sources already running publish (and read it) while the start-up still adds components.
    private readonly Lock _adding = new();
    private Lane[] _lanes = [];
    private readonly List<Task> _running = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public NodeLoop(TimeProvider time, ILogger logger)
    {
        _time = time;
        _logger = logger;
    }

    /// <summary>A failure a component recovers from by trying again: the kernel, nft, a file, etcd.</summary>
    public static bool IsRetryable(Exception e) => e is IOException or UnauthorizedAccessException; // netlink, nft, etcd's lease errors are IOExceptions

    public void Add(INodeComponent component)
    {
        var lane = new Lane(component, Channel.CreateUnbounded<Trigger>(new UnboundedChannelOptions { SingleReader = true }));
        lock (_adding)
        {
            Volatile.Write(ref _lanes, [.. _lanes, lane]);
        }
    }

    public void Publish(Trigger trigger)
    {
        foreach (Lane lane in Volatile.Read(ref _lanes))
        {
            if ((lane.Component.Wants & trigger.Kind) != 0)
            {
                lane.Queue.Writer.TryWrite(trigger);
            }
        }
    }

    /// <summary>Starts a source; what it publishes waits in the lanes' queues until <see cref="RunAsync"/>.</summary>
    public void Start(ITriggerSource source) =>
        _running.Add(Task.Run(() => source.RunAsync(this, _stop.Token), CancellationToken.None));

    /// <summary>Runs every lane until <paramref name="ct"/> is cancelled or a source or pass fails for good.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        using CancellationTokenRegistration link = ct.Register(_stop.Cancel);
        foreach (Lane lane in Volatile.Read(ref _lanes))
        {
            _running.Add(Task.Run(() => RunLaneAsync(lane, _stop.Token), CancellationToken.None));
        }

        // The first task to end decides: a source or a lane that ends or fails before shutdown is fatal.
        Task first = await Task.WhenAny(_running);
        await _stop.CancelAsync();
        await first; // rethrows its failure
        ct.ThrowIfCancellationRequested();
        throw new InvalidOperationException("a part of overlayd's loop ended on its own");
    }

    private async Task RunLaneAsync(Lane lane, CancellationToken ct)
    {
        ChannelReader<Trigger> queue = lane.Queue.Reader;
        string? failing = null; // the reason of the last failed pass, until one succeeds
        while (await queue.WaitToReadAsync(ct))
        {
            var batch = new TriggerBatch();
            while (queue.TryRead(out Trigger trigger))
            {
                batch.Add(trigger);
            }

            try
            {
                await lane.Component.RunPassAsync(batch, ct);
                if (failing is not null)
                {
                    LogPassRecovered(_logger, lane.Component.Name);
                    failing = null;
                }
            }
            catch (Exception e) when (IsRetryable(e))
            {
                // One line per distinct reason: a missing program or a full disk retried every second for an hour logs once.
                if (e.Message != failing)
                {
                    LogPassFailed(_logger, lane.Component.Name, e.Message);
                    failing = e.Message;
                }

                lane.Queue.Writer.TryWrite(new Trigger(Triggers.Retry));
                await Task.Delay(RetryDelay, _time, ct);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_running);
        }
        catch (Exception)
        {
            // Shutting down: failures were reported by RunAsync, or do not matter any more.
        }

        _stop.Dispose();
    }

    [LoggerMessage(1015, LogLevel.Error, "{Component}: pass failed, will retry every second: {Error}")]
    private static partial void LogPassFailed(ILogger logger, string component, string error);

    [LoggerMessage(1142, LogLevel.Information, "{Component}: recovered")]
    private static partial void LogPassRecovered(ILogger logger, string component);

    private sealed record Lane(INodeComponent Component, Channel<Trigger> Queue);
}
