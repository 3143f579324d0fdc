using Overlay.Core.Services;

namespace Overlay.Daemon.Services;

/// <summary>A file of the pods folder that is not a pod record, and why.</summary>
public sealed record PodFileProblem(string Path, string Reason);

/// <summary>What the pods folder holds: the pods by <c>namespace/name</c>, and the files that are not pods.</summary>
public sealed record PodFolderScan(IReadOnlyDictionary<string, PodRecord> Pods, IReadOnlyList<PodFileProblem> Malformed);

/// <summary>
/// The pods folder the CNI plugin writes (<c>&lt;ns&gt;_&lt;name&gt;.json</c>, one per pod on this node). Files whose name
/// starts with '.' (AtomicFile's temp files) or does not end in <c>.json</c> are not looked at; a file whose content
/// is not a pod, or another pod than its name says, or that cannot be read, is reported, never fatal.
/// </summary>
public static class PodFolder
{
    public const string Extension = ".json";

    /// <summary>Reads every pod file. A missing folder holds no pod.</summary>
    public static PodFolderScan Read(string folder)
    {
        if (!Directory.Exists(folder))
        {
            return new PodFolderScan(new Dictionary<string, PodRecord>(), []);
        }

        var files = new List<(string Path, string? Text)>();
        var unreadable = new List<PodFileProblem>();
        foreach (string path in Directory.EnumerateFiles(folder))
        {
            if (!IsPodFileName(Path.GetFileName(path)))
            {
                continue;
            }

            try
            {
                files.Add((path, File.ReadAllText(path)));
            }
            catch (FileNotFoundException)
            {
                // Removed by a DEL between the listing and the read: it is gone, as the next scan will say.
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                unreadable.Add(new PodFileProblem(path, $"cannot read it: {e.Message}"));
            }
        }

        PodFolderScan scan = Parse(files);
        return unreadable.Count == 0 ? scan : scan with { Malformed = [.. scan.Malformed, .. unreadable] };
    }

    /// <summary>The pure part of <see cref="Read"/>: file paths and contents to pods and problems, ordered by path.</summary>
    public static PodFolderScan Parse(IEnumerable<(string Path, string? Text)> files)
    {
        var pods = new Dictionary<string, PodRecord>(StringComparer.Ordinal);
        var malformed = new List<PodFileProblem>();
        foreach ((string path, string? text) in files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            string fileName = Path.GetFileName(path);
            if (!PodCodec.TryParse(text ?? "", out PodRecord? pod, out string reason))
            {
                malformed.Add(new PodFileProblem(path, reason));
            }
            else if (!string.Equals(fileName, FileNameOf(pod), StringComparison.Ordinal))
            {
                malformed.Add(new PodFileProblem(path, $"it holds pod {pod.FullName}, whose file is {FileNameOf(pod)}"));
            }
            else
            {
                pods[pod.FullName] = pod;
            }
        }

        return new PodFolderScan(pods, malformed);
    }

    public static string FileNameOf(PodRecord pod) => $"{pod.Namespace}_{pod.Name}{Extension}";

    public static bool IsPodFileName(string fileName) =>
        !fileName.StartsWith('.') && fileName.EndsWith(Extension, StringComparison.Ordinal);
}
