using System.Globalization;

namespace Overlay.Daemon.Health;

/// <summary>
/// The daemon's own memory, the figures an operator compares with flanneld's: resident memory from /proc and the
/// managed heap as the garbage collector describes it.
/// </summary>
public static class ProcessMemory
{
    /// <summary>VmRSS from /proc/self/status, in bytes; null where it cannot be read.</summary>
    public static long? ResidentBytes()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>The managed heap now (see <see cref="ManagedHeap.From"/>).</summary>
    public static ManagedHeap Heap()
    {
        GCMemoryInfo last = GC.GetGCMemoryInfo();
        return ManagedHeap.From(last.Index, last.HeapSizeBytes, last.FragmentedBytes, last.TotalCommittedBytes, GC.GetTotalMemory(forceFullCollection: false));
    }
}

/// <summary>The managed heap's figures for the <c>overlay_gc_*</c> gauges.</summary>
/// <param name="HeapBytes">Live objects and free space as the last collection left them.</param>
/// <param name="FragmentedBytes">Free space inside the heap.</param>
/// <param name="CommittedBytes">What the collector holds from the system; null while no collection has measured it.</param>
public readonly record struct ManagedHeap(long HeapBytes, long FragmentedBytes, long? CommittedBytes)
{
    /// <summary>
    /// The GC describes its heap as of the last collection and reports zeros before the first one, which can be
    /// minutes into a quiet daemon's life. Before it the heap is everything allocated so far (nothing has been freed,
    /// so nothing is fragmented: both real values), but how much the collector committed is known to no public API:
    /// that gauge is left out until the first collection rather than read as 0, which a graph or an alert would take
    /// for a fact.
    /// </summary>
    public static ManagedHeap From(long collections, long heapAfterLast, long fragmentedAfterLast, long committedAfterLast, long allocatedNow) =>
        collections == 0
            ? new ManagedHeap(allocatedNow, 0, null)
            : new ManagedHeap(heapAfterLast, fragmentedAfterLast, committedAfterLast);
}
