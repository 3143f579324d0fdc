using Overlay.Cni.Protocol;

namespace Overlay.Cni.Delegation;

/// <summary>
/// The rendered delegate config of each container, kept at <c>&lt;dataDir&gt;/&lt;containerID&gt;</c> (flannel's
/// layout) so that DEL undoes exactly what ADD did, even after subnet.env changed or vanished.
/// </summary>
public sealed class DelegateStore(string dataDir)
{
    // Like flannel: the folder 0700 and the files 0600; a delegate config may carry credentials of the user's.
    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string DataDir { get; } = dataDir;

    public string PathOf(string containerId) => Path.Combine(DataDir, containerId);

    /// <summary>Writes atomically (temp file, fsync, rename), so a crash never leaves a torn config for DEL.</summary>
    public void Save(string containerId, string delegateJson)
    {
        string path = PathOf(containerId);
        string temp = Path.Combine(DataDir, $".{containerId}.{Environment.ProcessId}.tmp");
        try
        {
            Directory.CreateDirectory(DataDir, FolderMode);
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = FileMode600 };
            using (var stream = new FileStream(temp, options))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(delegateJson));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temp);
            throw new CniException(CniErrorCode.IOFailure, $"cannot save the delegate config to {path}: {e.Message}");
        }
    }

    /// <summary>The stored config, or null when this container has none (never added, or deleted already).</summary>
    public string? Load(string containerId)
    {
        string path = PathOf(containerId);
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IOFailure, $"cannot read the delegate config {path}: {e.Message}");
        }
    }

    public void Remove(string containerId)
    {
        string path = PathOf(containerId);
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IOFailure, $"cannot remove the delegate config {path}: {e.Message}");
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The original failure is the one worth reporting.
        }
    }
}
