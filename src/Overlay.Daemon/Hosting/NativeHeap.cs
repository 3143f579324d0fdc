using System.Runtime.InteropServices;

namespace Overlay.Daemon.Hosting;

/// <summary>
/// The C heap: glibc keeps memory that was freed (by libnftables parsing a big script, by the runtime) for reuse
/// instead of giving it back; <c>malloc_trim</c> returns the free pages.
/// </summary>
internal static partial class NativeHeap
{
    /// <summary>Returns the C heap's free memory to the system; a no-op where the C library is not glibc.</summary>
    public static void Trim()
    {
        try
        {
            _ = malloc_trim(0);
        }
        catch (EntryPointNotFoundException)
        {
            // Not glibc.
        }
    }

    [LibraryImport("libc")]
    private static partial int malloc_trim(nuint pad);
}
