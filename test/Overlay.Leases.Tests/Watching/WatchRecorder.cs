using Overlay.Leases.Watching;
using Overlay.TestKit;

namespace Overlay.Leases.Tests.Watching;

/// <summary>Runs a watch in the background and keeps every update it delivers.</summary>
public class UpdateRecorder<TUpdate> : IAsyncDisposable
{
    private readonly List<TUpdate> updates = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Task pump;
    private readonly Func<TUpdate, string> describe;

    public UpdateRecorder(IAsyncEnumerable<TUpdate> watch, Func<TUpdate, string> describe)
    {
        this.describe = describe;
        pump = Task.Run(async () =>
        {
            await foreach (TUpdate update in watch.WithCancellation(stop.Token))
            {
                lock (updates)
                {
                    updates.Add(update);
                }
            }
        });
    }

    public IReadOnlyList<TUpdate> Updates
    {
        get
        {
            lock (updates)
            {
                return [.. updates];
            }
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds; fails naming <paramref name="what"/> and what came so far.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<TUpdate>, bool> condition, string what, TimeSpan? timeout = null)
    {
        bool met = await Poll.UntilAsync(() => Task.FromResult(condition(Updates) || pump.IsCompleted), timeout ?? TimeSpan.FromSeconds(15));
        if (pump.IsFaulted)
        {
            await pump; // surfaces the watcher's exception
        }

        Assert.That(met && !pump.IsCompleted, Is.True, $"timed out waiting for {what}; got: {string.Join(" | ", Updates.Select(describe))}");
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await pump; // the watch ends quietly on cancellation
        stop.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>The lease watch's recorder: its changes in order, and a readable update.</summary>
public sealed class WatchRecorder(IAsyncEnumerable<LeaseUpdate> watch) : UpdateRecorder<LeaseUpdate>(watch, Describe)
{
    /// <summary>Every change delivered so far, in order.</summary>
    public IReadOnlyList<LeaseChange> Changes => Updates.SelectMany(u => u.Changes).ToList();

    public Task WaitUntilAsync(Func<WatchRecorder, bool> condition, string what, TimeSpan? timeout = null) =>
        base.WaitUntilAsync(_ => condition(this), what, timeout);

    public static string Describe(LeaseUpdate update) =>
        $"r{update.Revision}{(update.IsResync ? " resync" : "")}: {string.Join(", ", update.Changes.Select(c => $"{c.Kind} {c.Subnet}"))}";
}
