using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Overlay.Daemon.Masquerade;

namespace Overlay.Daemon.Services;

/// <summary>How the service table talks to nftables: scripts in nft's syntax, run as one transaction each.</summary>
public interface INftRunner
{
    /// <summary>Runs <paramref name="script"/> (nft syntax, <c>nft -f</c> input) as one transaction; returns what it printed.</summary>
    Task<string> RunAsync(string script, CancellationToken ct);

    /// <summary>One <c>list</c> command's answer in nft's JSON (<c>nft -j list ...</c>).</summary>
    Task<string> ListJsonAsync(string listCommand, CancellationToken ct);
}

/// <summary>
/// nft run in-process through libnftables, the library the <c>nft</c> tool is built on: the same parser and the same
/// netlink transaction, without starting a process per change (about 0.3 ms for a one-service delta at 10,000
/// services, where starting <c>nft</c> alone takes 25 to 45 ms on a loaded 2-core machine). The netlink socket is
/// bound to the network namespace the context is created in. One context, used by one call at a time.
/// <para>
/// Memory: parsing a 10,000-service load takes about 125 MB of C heap that glibc keeps after it is freed, and a
/// context that listed the whole table caches all of it (about 95 MB); so big scripts are followed by
/// <c>malloc_trim</c>, and the full listing runs in a context of its own that is freed at once (measured with the
/// same library: 139 MB after a 10,000-service load, 16 MB after the trim).
/// </para>
/// </summary>
public sealed partial class NftLibrary : INftRunner, IDisposable
{
    private const string Library = "libnftables.so.1";
    private const uint OutputJson = 1 << 4;
    private const int CloneNewNet = 0x40000000;

    /// <summary>A script this long (a few hundred elements) leaves enough freed C heap behind to trim.</summary>
    private const int TrimAfter = 64 * 1024;

    private readonly Lock _gate = new();
    private readonly string? _namespace;
    private nint _context;

    private NftLibrary(nint context, string? networkNamespace)
    {
        _context = context;
        _namespace = networkNamespace;
    }

    /// <summary>
    /// A context in the current network namespace, or in the one at <paramref name="networkNamespace"/>
    /// (<c>/run/netns/NAME</c>). Throws <see cref="NftException"/> when libnftables is not installed.
    /// </summary>
    public static NftLibrary Open(string? networkNamespace = null) => new(CreateContext(networkNamespace), networkNamespace);

    public Task<string> RunAsync(string script, CancellationToken ct) => Task.Run(() => Run(script, json: false), ct);

    /// <summary>Lists in a context of its own, freed at once, so the listed table is not kept cached.</summary>
    public Task<string> ListJsonAsync(string listCommand, CancellationToken ct) => Task.Run(
        () =>
        {
            string listed;
            using (NftLibrary once = new(CreateContext(_namespace), _namespace))
            {
                listed = once.Run(listCommand, json: true);
            }

            Trim();
            return listed;
        },
        ct);

    /// <summary>Runs a script as one transaction; throws <see cref="NftException"/> with nft's error text when it is refused.</summary>
    public string Run(string script, bool json = false)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_context == 0, this);
            nft_ctx_output_set_flags(_context, json ? OutputJson : 0);
            int status = nft_run_cmd_from_buffer(_context, script);
            string output = Marshal.PtrToStringUTF8(nft_ctx_get_output_buffer(_context)) ?? "";
            string error = Marshal.PtrToStringUTF8(nft_ctx_get_error_buffer(_context)) ?? "";
            if (script.Length > TrimAfter)
            {
                Trim();
            }

            if (status != 0)
            {
                throw new NftException($"nft refused the script: {FirstLines(error)}");
            }

            return output;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_context != 0)
            {
                nft_ctx_free(_context);
                _context = 0;
            }
        }
    }

    private static nint CreateContext(string? networkNamespace)
    {
        try
        {
            nint context = networkNamespace is null ? NewContext() : InNamespace(networkNamespace, NewContext);
            if (context == 0)
            {
                throw new NftException("libnftables: nft_ctx_new failed");
            }

            _ = nft_ctx_buffer_output(context);
            _ = nft_ctx_buffer_error(context);
            return context;
        }
        catch (DllNotFoundException e)
        {
            throw new NftException($"cannot load {Library} ({e.Message}); install libnftables1 (the nftables package brings it)", e);
        }
    }

    private static nint NewContext() => nft_ctx_new(0);

    /// <summary>Gives the C heap libnftables freed back to the system (glibc keeps it otherwise).</summary>
    private static void Trim() => Hosting.NativeHeap.Trim();

    /// <summary>Runs <paramref name="action"/> on a thread of its own switched into the namespace, so no pool thread is left there.</summary>
    private static T InNamespace<T>(string path, Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using SafeFileHandle target = File.OpenHandle(path);
                if (setns(target, CloneNewNet) != 0)
                {
                    throw new IOException($"setns({path}) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                result = action(); // the thread ends in the namespace; it is never reused
            }
            catch (Exception e)
            {
                failure = e;
            }
        })
        {
            IsBackground = true,
            Name = "nft netns",
        };
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw failure is NftException or DllNotFoundException ? failure : new NftException($"libnftables in {path}: {failure.Message}", failure);
        }

        return result;
    }

    private static string FirstLines(string text)
    {
        string[] lines = text.Trim().Split('\n');
        return lines.Length <= 6 ? text.Trim() : string.Join('\n', lines.Take(6)) + $"\n... ({lines.Length - 6} more lines)";
    }

    [LibraryImport(Library)]
    private static partial nint nft_ctx_new(uint flags);

    [LibraryImport(Library)]
    private static partial void nft_ctx_free(nint context);

    [LibraryImport(Library)]
    private static partial int nft_ctx_buffer_output(nint context);

    [LibraryImport(Library)]
    private static partial int nft_ctx_buffer_error(nint context);

    [LibraryImport(Library)]
    private static partial nint nft_ctx_get_output_buffer(nint context);

    [LibraryImport(Library)]
    private static partial nint nft_ctx_get_error_buffer(nint context);

    [LibraryImport(Library)]
    private static partial void nft_ctx_output_set_flags(nint context, uint flags);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int nft_run_cmd_from_buffer(nint context, string buffer);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(SafeFileHandle fd, int nstype);
}
