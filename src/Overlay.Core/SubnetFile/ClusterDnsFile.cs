using System.Net;
using System.Text;

namespace Overlay.Core.SubnetFile;

/// <summary>
/// What a node's overlayd tells the pods it starts about cluster DNS, in <c>cluster-dns.env</c> beside subnet.env
/// (subnet.env itself stays exactly what flannel writes): the address pods' resolv.conf names and the cluster's
/// domain. overlayd writes it while it answers DNS and removes it when it does not (<c>--dns=false</c>, no service
/// network), so <c>overlayctl pod run</c> finds both by itself.
/// </summary>
public sealed record ClusterDnsFile(IPAddress Address, string Domain)
{
    public const string FileName = "cluster-dns.env";

    public const string AddressKey = "OVERLAY_CLUSTER_DNS";

    public const string DomainKey = "OVERLAY_CLUSTER_DOMAIN";

    /// <summary>The file's path for a subnet.env path: the same folder.</summary>
    public static string PathBeside(string subnetFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(subnetFile)) ?? "/", FileName);

    public string Render() => new StringBuilder()
        .Append(AddressKey).Append('=').Append(Address).Append('\n')
        .Append(DomainKey).Append('=').Append(Domain).Append('\n')
        .ToString();

    /// <summary>Reads the file's text; null when a value is missing or is not what overlayd writes.</summary>
    public static ClusterDnsFile? Parse(string text)
    {
        IReadOnlyDictionary<string, string> values = SubnetEnvReader.Parse(text);
        if (!values.TryGetValue(AddressKey, out string? addressText) || !IPAddress.TryParse(addressText, out IPAddress? address)
            || !values.TryGetValue(DomainKey, out string? domain) || domain.Length == 0)
        {
            return null;
        }

        return new ClusterDnsFile(address, domain.TrimEnd('.'));
    }

    /// <summary>Reads the file; null when it is missing or unreadable.</summary>
    public static ClusterDnsFile? Read(string path)
    {
        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
