using Microsoft.Extensions.Logging.Abstractions;
using Overlay.Daemon.Hosting.Loop;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.Hosting;

public class NodeLoopTests
{
    [Test]
    [CancelAfter(20_000)]
    public async Task Components_added_while_a_source_already_publishes_neither_break_it_nor_miss_later_triggers(CancellationToken ct)
    {
        var loop = new NodeLoop(TimeProvider.System, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var source = new Flood();
        Task publishing = Task.Run(() => source.RunAsync(loop, stop.Token), ct);
        var components = new List<Counter>();
        for (int i = 0; i < 300; i++)
        {
            var component = new Counter();
            components.Add(component);
            loop.Add(component);
            await Task.Yield();
        }

        Task running = loop.RunAsync(ct);
        await Poll.UntilAsync(() => Task.FromResult(components.All(c => c.Passes > 0)), TimeSpan.FromSeconds(10), ct);
        await stop.CancelAsync();

        Assert.That(async () => await publishing, Throws.Nothing, "publishing while the start-up adds components");
        Assert.That(components.Where(c => c.Passes == 0), Is.Empty, "every lane ran");
        Assert.That(running.IsFaulted, Is.False);
        await loop.DisposeAsync();
    }

    /// <summary>Publishes a resync trigger as fast as it can until stopped.</summary>
    private sealed class Flood : ITriggerSource
    {
        public async Task RunAsync(ITriggerSink sink, CancellationToken ct)
        {
            while (!ct.IsCancellationRequested)
            {
                sink.Publish(new Trigger(Triggers.Resync));
                await Task.Yield();
            }
        }
    }

    private sealed class Counter : INodeComponent
    {
        private int passes;

        public int Passes => Volatile.Read(ref passes);

        public string Name => "counter";

        public Triggers Wants => Triggers.Resync;

        public ValueTask RunPassAsync(TriggerBatch batch, CancellationToken ct)
        {
            Interlocked.Increment(ref passes);
            return ValueTask.CompletedTask;
        }
    }
}
