using Overlay.Leases.Watching;
using Overlay.TestKit;

namespace Overlay.Leases.Tests.Watching;

/// <summary>Runs a watch in the background and keeps every update it delivers.</summary>
public sealed class WatchRecorder : IAsyncDisposable
{
    private readonly List<LeaseUpdate> updates = [];
    private readonly CancellationTokenSource stop = new();
    private readonly Task pump;

    public WatchRecorder(IAsyncEnumerable<LeaseUpdate> watch)
    {
        pump = Task.Run(async () =>
        {
            await foreach (LeaseUpdate update in watch.WithCancellation(stop.Token))
            {
                lock (updates)
                {
                    updates.Add(update);
                }
            }
        });
    }

    public IReadOnlyList<LeaseUpdate> Updates
    {
        get
        {
            lock (updates)
            {
                return [.. updates];
            }
        }
    }

    /// <summary>Every change delivered so far, in order.</summary>
    public IReadOnlyList<LeaseChange> Changes => Updates.SelectMany(u => u.Changes).ToList();

    public async Task WaitUntilAsync(Func<WatchRecorder, bool> condition, string what, TimeSpan? timeout = null)
    {
        bool met = await Poll.UntilAsync(() => Task.FromResult(condition(this) || pump.IsCompleted), timeout ?? TimeSpan.FromSeconds(15));
        if (pump.IsFaulted)
        {
            await pump; // surfaces the watcher's exception
        }

        Assert.That(met && !pump.IsCompleted, Is.True, $"timed out waiting for {what}; got: {string.Join(" | ", Updates.Select(Describe))}");
    }

    public static string Describe(LeaseUpdate update) =>
        $"r{update.Revision}{(update.IsResync ? " resync" : "")}: {string.Join(", ", update.Changes.Select(c => $"{c.Kind} {c.Subnet}"))}";

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await pump; // the watch ends quietly on cancellation
        stop.Dispose();
    }
}
