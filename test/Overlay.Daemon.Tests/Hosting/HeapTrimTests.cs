using Overlay.Daemon.Hosting;

namespace Overlay.Daemon.Tests.Hosting;

public class HeapTrimTests
{
    [Test]
    public void Memory_held_beyond_the_live_heap_and_the_slack_is_given_back()
    {
        const long mib = 1024 * 1024;
        Assert.That(HeapTrim.Due(committedBytes: 30 * mib, heapBytes: 10 * mib), Is.True);
        Assert.That(HeapTrim.Due(committedBytes: 10 * mib + HeapTrim.Slack + 1, heapBytes: 10 * mib), Is.True);
    }

    [Test]
    public void A_heap_within_its_allocation_budget_is_left_alone()
    {
        const long mib = 1024 * 1024;
        Assert.That(HeapTrim.Due(committedBytes: 10 * mib + HeapTrim.Slack, heapBytes: 10 * mib), Is.False);
        Assert.That(HeapTrim.Due(committedBytes: 12 * mib, heapBytes: 10 * mib), Is.False);
    }

    [Test]
    public void After_a_burst_of_garbage_a_full_pass_trim_returns_committed_memory()
    {
        // A burst like a start-up's: 32 MiB of short-lived arrays, with every 50th kept, so that a collection
        // which does not compact leaves every region partly used and the memory committed.
        var keep = new List<byte[]>();
        var burst = new List<byte[]>();
        for (int i = 0; i < 2000; i++)
        {
            byte[] chunk = new byte[16 * 1024];
            (i % 50 == 0 ? keep : burst).Add(chunk);
        }

        GC.Collect(); // the burst is promoted and committed
        burst.Clear();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        GCMemoryInfo before = GC.GetGCMemoryInfo();
        Assert.That(HeapTrim.Due(before.TotalCommittedBytes, before.HeapSizeBytes - before.FragmentedBytes), Is.True,
            $"the burst should leave memory to give back: {before.TotalCommittedBytes} committed, {before.HeapSizeBytes} heap, {before.FragmentedBytes} free");

        Assert.That(HeapTrim.IfDue(), Is.True);

        GCMemoryInfo after = GC.GetGCMemoryInfo();
        Assert.That(HeapTrim.Due(after.TotalCommittedBytes, after.HeapSizeBytes - after.FragmentedBytes), Is.False);
        Assert.That(after.TotalCommittedBytes, Is.LessThan(before.TotalCommittedBytes), "the trim gave memory back");
        GC.KeepAlive(keep); // the kept chunks are what made the burst's regions partly used
    }
}
