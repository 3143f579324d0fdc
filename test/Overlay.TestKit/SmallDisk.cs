using System.Globalization;

namespace Overlay.TestKit;

/// <summary>
/// A folder on a real filesystem that fails writes: a tmpfs of a few kilobytes that <see cref="Fill"/> fills
/// (writes then fail with ENOSPC), or a read-only bind mount of a folder (EROFS). Unmounted and deleted on
/// Dispose. Needs root. Mounted in the test host's mount namespace before a process that uses it starts, so
/// that `ip netns exec` (which copies the mount table) sees it.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private readonly string? _filler;
    private bool _mounted;

    private SmallDisk(string folder, bool mounted, string? filler)
    {
        Folder = folder;
        _mounted = mounted;
        _filler = filler;
    }

    public string Folder { get; }

    /// <summary>A tmpfs of <paramref name="kilobytes"/> KiB on a new temp folder.</summary>
    public static SmallDisk Tmpfs(int kilobytes = 64)
    {
        string folder = Directory.CreateTempSubdirectory($"ovt-disk-{Environment.ProcessId}-").FullName;
        Shell.Run("mount", "-t", "tmpfs", "-o", $"size={kilobytes.ToString(CultureInfo.InvariantCulture)}k,mode=0755", "tmpfs", folder).EnsureSuccess();
        return new SmallDisk(folder, mounted: true, Path.Combine(folder, ".filler"));
    }

    /// <summary>A new temp folder, <paramref name="prepare"/>d, then bind-mounted read-only onto itself.</summary>
    public static SmallDisk ReadOnly(Action<string> prepare)
    {
        string folder = Directory.CreateTempSubdirectory($"ovt-disk-{Environment.ProcessId}-").FullName;
        prepare(folder);
        var disk = new SmallDisk(folder, mounted: false, filler: null);
        try
        {
            Shell.Run("mount", "--bind", folder, folder).EnsureSuccess();
            disk._mounted = true;
            Shell.Run("mount", "-o", "remount,bind,ro", folder, folder).EnsureSuccess();
        }
        catch
        {
            disk.Dispose();
            throw;
        }

        return disk;
    }

    /// <summary>Fills the tmpfs to the last byte: any further write fails with ENOSPC.</summary>
    public void Fill()
    {
        string filler = _filler ?? throw new InvalidOperationException("only a tmpfs is filled");
        using var stream = new FileStream(filler, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 1);
        var block = new byte[1024];
        try
        {
            while (true)
            {
                stream.Write(block);
            }
        }
        catch (IOException)
        {
            // full
        }

        try
        {
            while (true)
            {
                stream.Write(block, 0, 1);
            }
        }
        catch (IOException)
        {
            // to the byte
        }
    }

    /// <summary>Frees what <see cref="Fill"/> took.</summary>
    public void Free() => File.Delete(_filler ?? throw new InvalidOperationException("only a tmpfs is filled"));

    public void Dispose()
    {
        if (_mounted)
        {
            // Lazily, so a process still holding a file there does not keep the mount.
            Shell.Run("umount", "-l", Folder);
            _mounted = false;
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
