using System.Net;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Leases;
using Overlay.Netlink;

namespace Overlay.Daemon.Reconciliation;

/// <summary>
/// The peers programmed by the last full reconcile, kept so that a lease change can be turned into its few
/// kernel changes without rebuilding and diffing the whole desired state (15,000 entries at 5,000 peers).
/// It only takes the simple, common case: every lease programmable, one subnet length, no DirectRouting, no
/// MAC shared between nodes. Anything else (a conflict, an overlap, this node's own lease) returns false and the
/// caller does a full reconcile, so <see cref="DesiredStateBuilder"/> stays the one definition of what is right.
/// Pure: no I/O.
/// </summary>
public sealed class PeerIndex
{
    private readonly NetworkConfig _config;
    private readonly SubnetKey _own;
    private readonly int _deviceIndex;
    private readonly Dictionary<SubnetKey, (MacAddress Mac, IPAddress PublicIP)> _peers = [];
    private readonly Dictionary<IPNetwork, SubnetKey> _byNetwork = [];
    private readonly Dictionary<MacAddress, (IPAddress PublicIP, int Leases)> _macs = [];

    private PeerIndex(NetworkConfig config, SubnetKey own, int deviceIndex)
    {
        _config = config;
        _own = own;
        _deviceIndex = deviceIndex;
    }

    public int Count => _peers.Count;

    /// <summary>
    /// The index of a full reconcile's outcome, or null when that outcome is not the simple case (skipped leases,
    /// direct routes, mixed lengths): then every change goes through a full reconcile.
    /// </summary>
    public static PeerIndex? TryCreate(NetworkConfig config, IEnumerable<Lease> leases, SubnetKey own, int deviceIndex, DesiredState built)
    {
        if (config.Backend.DirectRouting || built.Skipped.Count > 0)
        {
            return null;
        }

        var index = new PeerIndex(config, own, deviceIndex);
        foreach (Lease lease in leases)
        {
            if (lease.Subnet == own)
            {
                continue;
            }

            if (!index.TryAdd(lease))
            {
                return null;
            }
        }

        return index.Count == built.PeerCount ? index : null;
    }

    /// <summary>
    /// The kernel changes for a series of lease changes (a null lease is a removal), in the order a full diff
    /// would apply them; false, with the index unusable, when any change needs a full reconcile. The changes are
    /// applied to the index one by one, and the plan is the net difference of the entries they touched.
    /// </summary>
    public bool TryPlan(IEnumerable<(SubnetKey Subnet, Lease? Lease)> changes, out List<NetlinkChange> plan)
    {
        plan = [];
        var beforePeers = new Dictionary<SubnetKey, (MacAddress Mac, IPAddress PublicIP)?>();
        var beforeMacs = new Dictionary<MacAddress, IPAddress?>();

        foreach ((SubnetKey subnet, Lease? lease) in changes)
        {
            if (IPAddressMath.Overlaps(subnet.IPv4, _own.IPv4))
            {
                return false; // this node's own subnet: the lease keeper and a full reconcile deal with it
            }

            bool had = _peers.TryGetValue(subnet, out var before);
            if (!beforePeers.ContainsKey(subnet))
            {
                beforePeers[subnet] = had ? before : null;
            }

            if (lease is null && !had)
            {
                return false; // a lease this index never had: let a full reconcile decide
            }

            if (had)
            {
                Remember(beforeMacs, before.Mac);
                Remove(subnet, before);
            }

            if (lease is not null)
            {
                if (Entries(lease) is { } entries)
                {
                    Remember(beforeMacs, entries.Mac);
                }

                if (!TryAdd(lease))
                {
                    return false;
                }
            }
        }

        var routeDeletes = new List<NetlinkChange>();
        var entryReplaces = new List<NetlinkChange>();
        var routeReplaces = new List<NetlinkChange>();
        var entryDeletes = new List<NetlinkChange>();
        foreach ((MacAddress mac, IPAddress? wasAt) in beforeMacs)
        {
            IPAddress? isAt = _macs.TryGetValue(mac, out var owner) ? owner.PublicIP : null;
            if (isAt is not null && !isAt.Equals(wasAt))
            {
                entryReplaces.Add(new(ChangeOperation.Replace, new FdbEntry(_deviceIndex, mac, isAt)));
            }

            if (wasAt is not null && !wasAt.Equals(isAt))
            {
                entryDeletes.Add(new(ChangeOperation.Delete, new FdbEntry(_deviceIndex, mac, wasAt)));
            }
        }

        foreach ((SubnetKey subnet, var was) in beforePeers)
        {
            IPAddress gateway = subnet.IPv4.BaseAddress;
            var route = RouteEntry.ViaGateway(subnet.IPv4, gateway, _deviceIndex, onLink: true);
            if (_peers.TryGetValue(subnet, out var now))
            {
                if (was is null || was.Value.Mac != now.Mac)
                {
                    entryReplaces.Add(new(ChangeOperation.Replace, new NeighbourEntry(_deviceIndex, gateway, now.Mac)));
                }

                if (was is null)
                {
                    routeReplaces.Add(new(ChangeOperation.Replace, route));
                }
            }
            else if (was is { } gone)
            {
                routeDeletes.Add(new(ChangeOperation.Delete, route));
                entryDeletes.Add(new(ChangeOperation.Delete, new NeighbourEntry(_deviceIndex, gateway, gone.Mac)));
            }
        }

        plan = [.. routeDeletes, .. entryReplaces, .. routeReplaces, .. entryDeletes];
        return true;
    }

    private void Remember(Dictionary<MacAddress, IPAddress?> beforeMacs, MacAddress mac)
    {
        if (!beforeMacs.ContainsKey(mac))
        {
            beforeMacs[mac] = _macs.TryGetValue(mac, out var owner) ? owner.PublicIP : null;
        }
    }

    private (MacAddress Mac, IPAddress PublicIP)? Entries(Lease lease) =>
        DesiredStateBuilder.Problem(_config, lease, out byte[] mac) is null
            ? (MacAddress.FromBytes(mac), lease.Attributes.PublicAddress!)
            : null;

    private bool TryAdd(Lease lease)
    {
        IPNetwork network = lease.Subnet.IPv4;
        if (network.PrefixLength != _config.SubnetLen
            || IPAddressMath.Overlaps(network, _own.IPv4)
            || _byNetwork.ContainsKey(network)
            || Entries(lease) is not { } entries)
        {
            return false;
        }

        int leasesOfMac = 0;
        if (_macs.TryGetValue(entries.Mac, out var owner))
        {
            if (!owner.PublicIP.Equals(entries.PublicIP))
            {
                return false; // a MAC conflict: the full build decides which lease wins
            }

            leasesOfMac = owner.Leases;
        }

        _macs[entries.Mac] = (entries.PublicIP, leasesOfMac + 1);
        _peers[lease.Subnet] = entries;
        _byNetwork[network] = lease.Subnet;
        return true;
    }

    private void Remove(SubnetKey subnet, (MacAddress Mac, IPAddress PublicIP) entries)
    {
        _peers.Remove(subnet);
        _byNetwork.Remove(subnet.IPv4);
        var owner = _macs[entries.Mac];
        if (owner.Leases == 1)
        {
            _macs.Remove(entries.Mac);
        }
        else
        {
            _macs[entries.Mac] = (owner.PublicIP, owner.Leases - 1);
        }
    }
}
