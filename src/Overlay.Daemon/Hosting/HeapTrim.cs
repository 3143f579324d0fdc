namespace Overlay.Daemon.Hosting;

/// <summary>
/// Gives memory back after a burst. The start-up (every lease listed, the kernel dumped, thousands of entries
/// built and sent) and a full resync allocate several times what overlayd keeps; the GC leaves that memory
/// committed for the next burst. A daemon that sits for days between bursts should not carry it: after a full
/// pass, when the GC holds much more than the live heap, one compacting collection returns the rest.
/// </summary>
internal static class HeapTrim
{
    /// <summary>Committed memory beyond the live heap that is left alone: the normal allocation budget.</summary>
    internal const long Slack = 6 * 1024 * 1024;

    /// <summary>The decision, kept pure: trim when the GC holds more than the live heap plus <see cref="Slack"/>.</summary>
    internal static bool Due(long committedBytes, long heapBytes) => committedBytes - heapBytes > Slack;

    /// <summary>After a full pass: a blocking, compacting collection that decommits free memory, when due.</summary>
    public static bool AfterFullPass()
    {
        GCMemoryInfo last = GC.GetGCMemoryInfo();
        if (!Due(last.TotalCommittedBytes, last.HeapSizeBytes - last.FragmentedBytes))
        {
            return false;
        }

        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        return true;
    }
}
