using System.Net;
using System.Text.Json;
using Overlay.Cni.Protocol;
using Overlay.Core.Addressing;
using Overlay.Core.Services;
using Overlay.Core.SubnetFile;

namespace Overlay.Cni.Pods;

/// <summary>
/// The pod's record in the pods folder (<c>&lt;podsDir&gt;/&lt;ns&gt;_&lt;name&gt;.json</c>, read by the node's overlayd,
/// which publishes it to etcd). ADD writes it atomically and notes, beside the delegate config in dataDir
/// (<c>&lt;dataDir&gt;/_pods/&lt;containerID&gt;</c>), which file it wrote and what it wrote, so that DEL removes
/// that file even without CNI_ARGS, and leaves it alone when another container of the same pod rewrote it since.
/// </summary>
public sealed class PodFile(string podsDir, string dataDir)
{
    /// <summary>'_' cannot start a container id, so this folder never collides with a container's delegate config.</summary>
    public const string NotesFolder = "_pods";

    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    public string PodsDir { get; } = podsDir;

    public string NotePath(string containerId) => Path.Combine(dataDir, NotesFolder, containerId);

    /// <summary>Writes the pod and the note for DEL. Failures are CNI I/O errors naming the file.</summary>
    public string Write(string containerId, PodIdentity identity, PodRecord pod)
    {
        string path = Path.Combine(PodsDir, identity.FileName);
        string json = PodCodec.Serialize(pod);
        string note = NotePath(containerId);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(note)!, FolderMode);
            File.WriteAllText(note, path + "\n" + json);
            AtomicFile.Write(path, json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IOFailure, $"cannot write the pod record {path}: {e.Message}");
        }

        return path;
    }

    /// <summary>
    /// Removes what ADD wrote for this container: the file its note names, if it still holds what ADD wrote;
    /// without a note, the file <paramref name="identity"/> names. A missing file is fine (DEL twice).
    /// </summary>
    public void Remove(string containerId, PodIdentity? identity)
    {
        string note = NotePath(containerId);
        try
        {
            string? path = null;
            bool remove = true;
            if (File.Exists(note))
            {
                string[] parts = File.ReadAllText(note).Split('\n', 2);
                path = parts[0];
                // Another container of the same pod (a new sandbox) wrote it since: it is that one's now.
                remove = parts.Length == 2 && (!File.Exists(path) || string.Equals(File.ReadAllText(path), parts[1], StringComparison.Ordinal));
            }
            else if (identity is not null)
            {
                path = Path.Combine(PodsDir, identity.FileName);
            }

            // File.Delete throws when the folder is missing, so each is looked for first.
            if (path is not null && remove && File.Exists(path))
            {
                File.Delete(path);
            }

            if (File.Exists(note))
            {
                File.Delete(note);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CniException(CniErrorCode.IOFailure, $"cannot remove the pod record of container {containerId}: {e.Message}");
        }
    }

    /// <summary>Every address in a CNI result: <c>ips[].address</c> (0.3.0 and later), prefix length dropped.</summary>
    public static IReadOnlyList<IPAddress> AddressesOf(string result)
    {
        var addresses = new List<IPAddress>();
        try
        {
            using var document = JsonDocument.Parse(result);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("ips", out JsonElement ips) && ips.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement ip in ips.EnumerateArray())
                {
                    if (ip.ValueKind == JsonValueKind.Object && ip.TryGetProperty("address", out JsonElement address) && address.ValueKind == JsonValueKind.String
                        && IPAddressMath.TryParseAddress(address.GetString()!.Split('/')[0], out IPAddress? parsed))
                    {
                        addresses.Add(parsed);
                    }
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // The delegate's result goes to the runtime as it is; a pod record needs addresses it cannot give.
            // (InvalidOperationException: a string holding an unpaired surrogate escape such as "\ud800".)
        }

        return addresses;
    }
}
