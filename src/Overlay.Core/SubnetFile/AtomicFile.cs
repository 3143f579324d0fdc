namespace Overlay.Core.SubnetFile;

/// <summary>
/// Replaces a file so that a reader sees either the old or the new content, never a torn one: a temp file
/// in the same folder, fsync, rename. The file gets mode 0644 and a missing parent folder 0755.
/// </summary>
public static class AtomicFile
{
    private const UnixFileMode FileMode644 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode FolderMode755 =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>
    /// Replaces the file. On failure (a full disk, a read-only folder) the old file is left as it was, the temp file
    /// is removed, and an <see cref="IOException"/> names the file and the errno: "could not write /run/flannel/subnet.env:
    /// No space left on device (ENOSPC); the old file is left as it was".
    /// </summary>
    public static void Write(string path, string content)
    {
        string fullPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(fullPath) ?? "/";
        string temp = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            if (!Directory.Exists(folder))
            {
                Directory.CreateDirectory(folder, FolderMode755);
            }

            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.Write,
                UnixCreateMode = FileMode644,
            };
            using (var stream = new FileStream(temp, options))
            {
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(content);
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }

            File.SetUnixFileMode(temp, FileMode644); // the umask may have taken bits away
            File.Move(temp, fullPath, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new IOException($"could not write {fullPath}: {Reason(e)}; the old file is left as it was", e);
        }
    }

    /// <summary>The system's reason without .NET's " : 'path'" suffix (the path is the temp file's), and the errno's name where known.</summary>
    private static string Reason(Exception e)
    {
        string message = e.Message;
        int path = message.IndexOf(" : '", StringComparison.Ordinal);
        if (path > 0)
        {
            message = message[..path];
        }

        // On Unix, .NET's IOException for a failed system call carries the raw errno as its HResult.
        string? name = e is IOException && e.GetType() == typeof(IOException) ? e.HResult switch
        {
            1 => "EPERM",
            5 => "EIO",
            13 => "EACCES",
            27 => "EFBIG",
            28 => "ENOSPC",
            30 => "EROFS",
            122 => "EDQUOT",
            _ => null,
        }
        : e is UnauthorizedAccessException ? "EACCES or EPERM" : null;
        return name is null ? message : $"{message} ({name})";
    }

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A folder where the temp file could not be made cannot hold one to remove.
        }
    }

    /// <summary>Writes only when the content differs from what is on disk; returns whether it wrote.</summary>
    public static bool WriteIfChanged(string path, string content)
    {
        try
        {
            if (File.Exists(path) && string.Equals(File.ReadAllText(path), content, StringComparison.Ordinal))
            {
                return false;
            }
        }
        catch (IOException)
        {
            // Unreadable: write it anew.
        }

        Write(path, content);
        return true;
    }
}
