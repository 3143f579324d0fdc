using System.Net;
using System.Text;

namespace Overlay.Cli.Pods;

/// <summary>
/// The pod's managed hosts file, laid out as the kubelet writes one: the localhost entries, the pod's own
/// address and name, then one line per host alias in the order given.
/// </summary>
public static class PodHosts
{
    public const string Header = "# Overlay-managed hosts file (overlayctl pod run).";

    public static string Render(string podName, IPAddress? podAddress, IReadOnlyList<HostAlias> aliases)
    {
        ArgumentException.ThrowIfNullOrEmpty(podName);
        ArgumentNullException.ThrowIfNull(aliases);
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        text.Append("127.0.0.1\tlocalhost\n");
        text.Append("::1\tlocalhost ip6-localhost ip6-loopback\n");
        text.Append("fe00::0\tip6-localnet\n");
        text.Append("fe00::0\tip6-mcastprefix\n");
        text.Append("fe00::1\tip6-allnodes\n");
        text.Append("fe00::2\tip6-allrouters\n");
        if (podAddress is not null)
        {
            text.Append(podAddress).Append('\t').Append(podName).Append('\n');
        }

        if (aliases.Count > 0)
        {
            text.Append("\n# Entries added by --host-alias.\n");
            foreach (HostAlias alias in aliases)
            {
                text.Append(alias.Address).Append('\t').Append(string.Join('\t', alias.Hostnames)).Append('\n');
            }
        }

        return text.ToString();
    }
}

/// <summary>The pod's nsswitch.conf: the hosts file is consulted before DNS; everything else from local files.</summary>
public static class PodNsswitch
{
    public const string Text =
        "# Overlay-managed nsswitch.conf (overlayctl pod run).\n"
        + "passwd:         files\n"
        + "group:          files\n"
        + "shadow:         files\n"
        + "hosts:          files dns\n"
        + "networks:       files\n"
        + "protocols:      files\n"
        + "services:       files\n"
        + "ethers:         files\n"
        + "rpc:            files\n";
}
