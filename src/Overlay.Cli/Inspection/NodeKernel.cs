using System.Net;
using System.Net.Sockets;
using Overlay.Netlink;

namespace Overlay.Cli.Inspection;

/// <summary>
/// What a node's kernel holds that overlayd cares about, read once: every link and address, the main table's
/// routes of both families, the neighbours and FDB entries of the VXLAN devices, and the kernel's own answer (as
/// <c>ip route get</c>) for the addresses the caller asks about. Plain data, so the comparison is pure.
/// </summary>
internal sealed record KernelSnapshot(
    IReadOnlyList<LinkInfo> Links,
    IReadOnlyList<AddressEntry> Addresses,
    IReadOnlyList<RouteEntry> Routes,
    IReadOnlyList<NeighbourEntry> Neighbours,
    IReadOnlyList<FdbEntry> Fdb,
    IReadOnlyDictionary<IPAddress, RouteLookup> Lookups)
{
    public LinkInfo? Link(string name) => Links.FirstOrDefault(l => l.Name == name);

    /// <summary>A device's name, or "if7" for an index no link has (gone since the dump).</summary>
    public string DeviceName(int index) =>
        Links.FirstOrDefault(l => l.Index == index)?.Name ?? "if" + index.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>The I/O edge of <c>node status</c> and <c>trace</c>: our own rtnetlink layer, in a named namespace or here.</summary>
internal static class NodeKernel
{
    /// <param name="netns">A name under /run/netns or a path; null for the namespace overlayctl runs in.</param>
    /// <param name="deviceNames">The VXLAN devices whose neighbours and FDB entries are read (absent ones are skipped).</param>
    /// <param name="lookups">Addresses to ask the kernel's route lookup about (unroutable ones are left out).</param>
    public static KernelSnapshot Read(string? netns, IEnumerable<string> deviceNames, IEnumerable<IPAddress> lookups)
    {
        using NetlinkHandle netlink = netns is null ? NetlinkHandle.Open() : NetlinkHandle.OpenInNamespace(netns);
        IReadOnlyList<LinkInfo> links = netlink.ListLinks();
        var neighbours = new List<NeighbourEntry>();
        var fdb = new List<FdbEntry>();
        foreach (string name in deviceNames)
        {
            if (links.FirstOrDefault(l => l.Name == name) is { } device)
            {
                neighbours.AddRange(netlink.ListNeighbours(device.Index));
                fdb.AddRange(netlink.ListFdb(device.Index));
            }
        }

        var answers = new Dictionary<IPAddress, RouteLookup>();
        foreach (IPAddress address in lookups.Distinct())
        {
            try
            {
                answers[address] = netlink.LookupRoute(address);
            }
            catch (NetlinkException)
            {
                // ENETUNREACH and the like: no route is an answer too, shown as "no route".
            }
        }

        return new KernelSnapshot(
            links,
            netlink.ListAddresses(),
            [.. netlink.ListRoutes(family: AddressFamily.InterNetwork), .. netlink.ListRoutes(family: AddressFamily.InterNetworkV6)],
            neighbours,
            fdb,
            answers);
    }
}
