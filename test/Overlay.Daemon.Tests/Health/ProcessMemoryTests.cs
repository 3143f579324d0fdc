using Overlay.Daemon.Health;

namespace Overlay.Daemon.Tests.Health;

public class ProcessMemoryTests
{
    [Test]
    public void Before_the_first_collection_the_heap_is_all_that_was_allocated_with_nothing_fragmented_and_no_committed_figure()
    {
        // What GC.GetGCMemoryInfo() reports before any collection: index 0 and zeros.
        ManagedHeap heap = ManagedHeap.From(collections: 0, heapAfterLast: 0, fragmentedAfterLast: 0, committedAfterLast: 0, allocatedNow: 159_736);

        Assert.That(heap, Is.EqualTo(new ManagedHeap(HeapBytes: 159_736, FragmentedBytes: 0, CommittedBytes: null)));
    }

    [Test]
    public void After_a_collection_the_figures_are_the_ones_it_left()
    {
        ManagedHeap heap = ManagedHeap.From(collections: 1, heapAfterLast: 158_784, fragmentedAfterLast: 3_384, committedAfterLast: 479_232, allocatedNow: 171_848);

        Assert.That(heap, Is.EqualTo(new ManagedHeap(HeapBytes: 158_784, FragmentedBytes: 3_384, CommittedBytes: 479_232)));
    }

    [Test]
    public void The_heap_now_is_the_last_collections_in_this_test_host()
    {
        GC.Collect();
        GCMemoryInfo collected = GC.GetGCMemoryInfo();

        ManagedHeap heap = ProcessMemory.Heap();

        Assert.That(GC.GetGCMemoryInfo().Index, Is.EqualTo(collected.Index), "no other collection ran meanwhile");
        Assert.That(heap, Is.EqualTo(new ManagedHeap(collected.HeapSizeBytes, collected.FragmentedBytes, collected.TotalCommittedBytes)));
    }
}
