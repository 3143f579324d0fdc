using System.Net;
using System.Text;
using Overlay.Core.Allocation;

namespace Overlay.Core.Identity;

/// <summary>
/// Derives a node's owner id and VTEP MAC. Nodes simulated in network namespaces on one machine share the
/// machine-id and hostname, so the public IP is mixed in: two nodes never share an identity, and a node
/// keeps its identity (and so its lease and MAC) across restarts and reboots.
/// </summary>
public static class NodeIdentityDerivation
{
    public const string MachineIdPath = "/etc/machine-id";

    /// <summary><paramref name="nodeName"/> when given; else "m-" and 16 hex digits of SHA-256(machine-id, public IP).</summary>
    public static string OwnerId(string? nodeName, string machineId, IPAddress publicIP)
    {
        if (!string.IsNullOrWhiteSpace(nodeName))
        {
            return nodeName.Trim();
        }

        byte[] hash = Sha256.HashData(Encoding.UTF8.GetBytes($"overlay-owner\n{machineId.Trim()}\n{publicIP}"));
        return "m-" + Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }

    public static NodeIdentity Create(string? nodeName, string machineId, IPAddress publicIP, IPAddress? publicIPv6 = null) =>
        new(OwnerId(nodeName, machineId, publicIP), publicIP, publicIPv6);

    /// <summary>
    /// A stable, locally administered, unicast MAC for the VXLAN device of this node and VNI
    /// (flannel picks a random one, which changes whenever the device is recreated).
    /// </summary>
    public static byte[] VtepMac(string ownerId, int vni, bool ipv6 = false)
    {
        byte[] hash = Sha256.HashData(Encoding.UTF8.GetBytes($"overlay-vtep\n{ownerId}\n{vni}\n{(ipv6 ? "v6" : "v4")}"));
        byte[] mac = hash[..6];
        mac[0] = (byte)((mac[0] & 0xfe) | 0x02); // unicast, locally administered
        return mac;
    }

    /// <summary>Reads /etc/machine-id (or the given file); an empty string when it is missing.</summary>
    public static string ReadMachineId(string path = MachineIdPath)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
