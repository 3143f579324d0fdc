namespace Overlay.Daemon.Hosting;

/// <summary>
/// Gives memory back after a burst. The start-up (every lease listed, the kernel dumped, thousands of entries
/// built and sent) and a full resync allocate several times what overlayd keeps; the GC leaves that memory
/// committed for the next burst, and so do a hundred lease changes in a row. A daemon that sits for days between
/// bursts should not carry it: once no component has run for a few seconds after some work, when the GC holds
/// much more than the live heap, one compacting collection returns the rest.
/// </summary>
internal static class HeapTrim
{
    /// <summary>Committed memory beyond the live heap that is left alone: the normal allocation budget.</summary>
    internal const long Slack = 6 * 1024 * 1024;

    /// <summary>The decision, kept pure: trim when the GC holds more than the live heap plus <see cref="Slack"/>.</summary>
    internal static bool Due(long committedBytes, long heapBytes) => committedBytes - heapBytes > Slack;

    /// <summary>
    /// Once things are quiet after a burst: a blocking, compacting collection that decommits free memory, when due;
    /// then the C heap's free pages go back too (<see cref="NativeHeap.Trim"/>). The last collection's figures may
    /// predate the burst and count garbage that reached the old generation (a start-up's listings, the first load of
    /// 10,000 services), so a full, non-compacting collection refreshes them first.
    /// </summary>
    public static bool IfDue()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        GCMemoryInfo last = GC.GetGCMemoryInfo();
        bool due = Due(last.TotalCommittedBytes, last.HeapSizeBytes - last.FragmentedBytes);
        if (due)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        NativeHeap.Trim();
        return due;
    }
}
