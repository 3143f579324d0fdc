using System.Net;

namespace Overlay.Cli.Pods;

/// <summary>Extra names for an address in the pod's hosts file, as Kubernetes' <c>hostAliases</c>.</summary>
public sealed record HostAlias(IPAddress Address, IReadOnlyList<string> Hostnames)
{
    /// <summary>IP=NAME[,NAME...], as <c>--host-alias</c> takes it.</summary>
    public static HostAlias Parse(string text)
    {
        int equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals < 0)
        {
            throw new InvalidPodSpecException($"--host-alias '{text}' is not IP=NAME[,NAME...] (e.g. 198.51.100.7=db,db.example)");
        }

        string ip = text[..equals];
        if (!HostNames.TryParseAddress(ip, out IPAddress? address))
        {
            throw new InvalidPodSpecException($"--host-alias '{text}': '{ip}' is not an IP address; a host alias maps an IP to names (IP=NAME[,NAME...])");
        }

        string[] names = text[(equals + 1)..].Split(',');
        foreach (string name in names)
        {
            if (!HostNames.IsDnsSubdomain(name))
            {
                throw new InvalidPodSpecException($"--host-alias '{text}': '{name}' is not a host name; use lower-case letters, digits, '-' and '.'");
            }
        }

        return new HostAlias(address, names);
    }
}
