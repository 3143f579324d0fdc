namespace Overlay.Cli.Pods;

/// <summary>
/// A pod's files under <c>/etc/netns/&lt;pod&gt;/</c>: <c>ip netns exec &lt;pod&gt;</c> bind-mounts each of them
/// over the file of the same name in /etc, so programs in the pod read these instead of the host's.
/// </summary>
internal static class PodFiles
{
    public const string Root = "/etc/netns";

    public static string FolderOf(string pod) => Path.Combine(Root, pod);

    public static void Write(string pod, string resolvConf, string hosts, string nsswitch)
    {
        string folder = FolderOf(pod);
        Directory.CreateDirectory(folder);
        Overlay.Core.SubnetFile.AtomicFile.Write(Path.Combine(folder, "resolv.conf"), resolvConf);
        Overlay.Core.SubnetFile.AtomicFile.Write(Path.Combine(folder, "hosts"), hosts);
        Overlay.Core.SubnetFile.AtomicFile.Write(Path.Combine(folder, "nsswitch.conf"), nsswitch);
    }

    public static bool Remove(string pod)
    {
        string folder = FolderOf(pod);
        if (!Directory.Exists(folder))
        {
            return false;
        }

        Directory.Delete(folder, recursive: true);
        return true;
    }
}
