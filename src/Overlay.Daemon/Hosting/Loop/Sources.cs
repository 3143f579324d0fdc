using System.Diagnostics;
using Overlay.Leases.Keeping;
using Overlay.Leases.Store;
using Overlay.Leases.Watching;

namespace Overlay.Daemon.Hosting.Loop;

/// <summary>A trigger of one kind every <paramref name="interval"/>.</summary>
public sealed class TimerSource(Triggers kind, TimeSpan interval, TimeProvider time) : ITriggerSource
{
    public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(ct))
        {
            sink.Publish(new Trigger(kind));
        }
    }
}

/// <summary>
/// The lease set from etcd: the first full list is handed to the start-up sequence (the first reconcile
/// waits for it); every later update becomes a <see cref="Triggers.Leases"/> trigger. Every update is also
/// shown to the keeper, which re-acquires at once when this node's own key is gone.
/// </summary>
public sealed class LeaseUpdatesSource(LeaseWatcher watcher, LeaseKeeper keeper) : ITriggerSource
{
    private readonly TaskCompletionSource<LeaseUpdate> _firstList = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<LeaseUpdate> FirstList => _firstList.Task;

    public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
    {
        try
        {
            await foreach (LeaseUpdate update in watcher.WatchAsync(ct))
            {
                keeper.NotifyLeaseChanged(update);
                if (!_firstList.TrySetResult(update))
                {
                    sink.Publish(new Trigger(Triggers.Leases, update, Stopwatch.GetTimestamp()));
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _firstList.TrySetException(e); // the start-up says why, not just "canceled"
            throw;
        }
        finally
        {
            _firstList.TrySetCanceled(ct);
        }
    }
}

/// <summary>The keeper's renewals and re-acquisitions, as <see cref="Triggers.OwnLease"/> triggers.</summary>
public sealed class OwnLeaseSource(LeaseKeeper keeper) : ITriggerSource
{
    public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
    {
        void OnChanged(OwnLease lease) => sink.Publish(new Trigger(Triggers.OwnLease));
        keeper.LeaseChanged += OnChanged;
        try
        {
            await keeper.RunAsync(ct);
        }
        finally
        {
            keeper.LeaseChanged -= OnChanged;
        }
    }
}

/// <summary>Every update of one prefix of the service registry (services, pods), as <see cref="Triggers.Services"/> triggers.</summary>
public sealed class RegistrySource(PrefixWatcher watcher) : ITriggerSource
{
    public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
    {
        await foreach (PrefixUpdate update in watcher.WatchAsync(ct))
        {
            sink.Publish(new Trigger(Triggers.Services, Registry: update));
        }
    }
}
