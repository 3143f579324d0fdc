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

    public static void Write(string path, string content)
    {
        string fullPath = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(fullPath) ?? "/";
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder, FolderMode755);
        }

        string temp = Path.Combine(folder, $".{Path.GetFileName(fullPath)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
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
        catch
        {
            File.Delete(temp);
            throw;
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
