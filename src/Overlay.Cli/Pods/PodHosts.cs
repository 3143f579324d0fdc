using System.Net;
using System.Text;

namespace Overlay.Cli.Pods;

/// <summary>
/// The pod's hosts file as the kubelet writes it (pkg/kubelet/kubelet_pods.go): for a pod of its own network the
/// managed file (the header, the localhost entries, a line per pod address with its host name, then the host
/// aliases); for a host-network pod the node's own hosts file under another header, then the aliases.
/// </summary>
public static class PodHosts
{
    public const string Header = "# Kubernetes-managed hosts file.";

    public const string HostNetworkHeader = "# Kubernetes-managed hosts file (host network).";

    public const string AliasesComment = "# Entries added by HostAliases.";

    /// <summary>
    /// The managed file: one line per address (both families on a dual-stack pod), <c>IP\tNAME</c>, or with a
    /// domain (a pod's subdomain, <c>&lt;sub&gt;.&lt;ns&gt;.svc.&lt;zone&gt;</c>) <c>IP\tNAME.DOMAIN\tNAME</c>.
    /// </summary>
    public static string Render(string hostName, IReadOnlyList<IPAddress> podAddresses, IReadOnlyList<HostAlias> aliases, string? hostDomain = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(hostName);
        ArgumentNullException.ThrowIfNull(podAddresses);
        ArgumentNullException.ThrowIfNull(aliases);
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        text.Append("127.0.0.1\tlocalhost\n");
        text.Append("::1\tlocalhost ip6-localhost ip6-loopback\n");
        text.Append("fe00::0\tip6-localnet\n");
        text.Append("fe00::0\tip6-mcastprefix\n");
        text.Append("fe00::1\tip6-allnodes\n");
        text.Append("fe00::2\tip6-allrouters\n");
        foreach (IPAddress address in podAddresses)
        {
            text.Append(address).Append('\t');
            if (!string.IsNullOrEmpty(hostDomain))
            {
                text.Append(hostName).Append('.').Append(hostDomain).Append('\t');
            }

            text.Append(hostName).Append('\n');
        }

        AppendAliases(text, aliases);
        return text.ToString();
    }

    /// <summary>A host-network pod's file: the node's hosts file as it is, under its own header, then the aliases.</summary>
    public static string RenderForHostNetwork(string nodeHosts, IReadOnlyList<HostAlias> aliases)
    {
        ArgumentNullException.ThrowIfNull(nodeHosts);
        ArgumentNullException.ThrowIfNull(aliases);
        var text = new StringBuilder();
        text.Append(HostNetworkHeader).Append('\n').Append(nodeHosts);
        AppendAliases(text, aliases);
        return text.ToString();
    }

    /// <summary>A blank line and the comment, then one line per alias with all its names, in the order given.</summary>
    private static void AppendAliases(StringBuilder text, IReadOnlyList<HostAlias> aliases)
    {
        if (aliases.Count == 0)
        {
            return;
        }

        text.Append('\n').Append(AliasesComment).Append('\n');
        foreach (HostAlias alias in aliases)
        {
            text.Append(alias.Address).Append('\t').Append(string.Join('\t', alias.Hostnames)).Append('\n');
        }
    }
}

/// <summary>
/// The pod's nsswitch.conf: the hosts file is consulted before DNS; everything else from local files. The kubelet
/// writes none (a container brings its image's); a pod here would otherwise read the host's.
/// </summary>
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
