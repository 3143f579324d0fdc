using System.Net;
using Overlay.Core.Addressing;
using Overlay.Core.Leases;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Reconciliation;

/// <summary>
/// The peers programmed by the last full reconcile, kept so that a lease change can be turned into its few
/// kernel changes without rebuilding and diffing the whole desired state (15,000 entries at 5,000 peers).
/// It only takes the simple, common case: every lease programmable, one subnet length, no DirectRouting, no
/// MAC shared between nodes. Anything else (a conflict, an overlap, this node's own lease) returns false and the
/// caller does a full reconcile, so <see cref="DesiredStateBuilder"/> stays the one definition of what is right.
/// Each <see cref="VxlanFamily"/> keeps its half of every lease the same way, for its own device; the first family
/// (IPv4) is the one every lease has. Pure: no I/O.
/// </summary>
public sealed class PeerIndex
{
    private readonly Family[] _families;

    private PeerIndex(Family[] families)
    {
        _families = families;
    }

    /// <summary>The leases indexed (each has its first family's half programmed; in the simple case nothing is skipped).</summary>
    public int Count => _families[0].Peers.Count;

    /// <summary>
    /// The index of a full reconcile's outcome, or null when that outcome is not the simple case (skipped leases,
    /// direct routes, mixed lengths): then every change goes through a full reconcile.
    /// </summary>
    /// <param name="families">As given to <see cref="DesiredStateBuilder.Build"/>.</param>
    public static PeerIndex? TryCreate(IReadOnlyList<VxlanFamily> families, IEnumerable<Lease> leases, SubnetKey own, DesiredState built)
    {
        if (families.Any(f => f.DirectRouting) || built.Skipped.Count > 0)
        {
            return null;
        }

        var index = new PeerIndex(families
            .Where(f => f.SubnetOf(own) is not null)
            .Select(f => new Family(f, f.SubnetOf(own)!.Value))
            .ToArray());
        if (index._families.Length == 0 || index._families[0].Of.IsIPv6)
        {
            return null; // not the shape this index knows: a full reconcile does it
        }

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
        foreach (Family family in _families)
        {
            family.BeginPlan();
        }

        foreach ((SubnetKey subnet, Lease? lease) in changes)
        {
            foreach (Family family in _families)
            {
                if (family.Of.SubnetOf(subnet) is { } network && IPAddressMath.Overlaps(network, family.OwnSubnet))
                {
                    return false; // this node's own subnet: the lease keeper and a full reconcile deal with it
                }
            }

            bool had = _families[0].Peers.ContainsKey(subnet);
            if (lease is null && !had)
            {
                return false; // a lease this index never had: let a full reconcile decide
            }

            foreach (Family family in _families)
            {
                family.Remove(subnet);
            }

            if (lease is not null)
            {
                foreach (Family family in _families)
                {
                    family.RememberMacOf(family.Entries(lease));
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
        foreach (Family family in _families)
        {
            family.Plan(routeDeletes, entryReplaces, routeReplaces, entryDeletes);
        }

        plan = [.. routeDeletes, .. entryReplaces, .. routeReplaces, .. entryDeletes];
        return true;
    }

    /// <summary>
    /// Adds every half of a lease. A lease without a half in a later family (an IPv4-only lease in a dual-stack
    /// network) has only its other entries, as in the full build; the first family's half is required.
    /// </summary>
    private bool TryAdd(Lease lease)
    {
        foreach (Family family in _families)
        {
            if (family.Of.SubnetOf(lease.Subnet) is not { } network)
            {
                if (family == _families[0])
                {
                    return false;
                }

                continue;
            }

            if (IPAddressMath.Overlaps(network, family.OwnSubnet) || family.Entries(lease) is not { } entries || !family.TryAdd(lease.Subnet, network, entries))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>One device's peers: one family's half of every lease.</summary>
    private sealed class Family
    {
        private readonly int _deviceIndex;
        private readonly int _subnetLen;
        private readonly Dictionary<IPNetwork, SubnetKey> _byNetwork = [];
        private readonly Dictionary<MacAddress, (IPAddress PublicIP, int Leases)> _macs = [];

        // What a plan in progress touched, as it was before. By network, not lease key: two keys may share one
        // network (a dual-stack key replaced by an IPv4-only one), and the kernel's entries are per network.
        private readonly Dictionary<IPNetwork, (MacAddress Mac, IPAddress PublicIP)?> _beforePeers = [];
        private readonly Dictionary<MacAddress, IPAddress?> _beforeMacs = [];

        public Family(VxlanFamily of, IPNetwork ownSubnet)
        {
            Of = of;
            OwnSubnet = ownSubnet;
            _deviceIndex = of.DeviceIndex;
            _subnetLen = of.SubnetLen;
        }

        public VxlanFamily Of { get; }

        /// <summary>This node's own subnet in this family.</summary>
        public IPNetwork OwnSubnet { get; }

        public Dictionary<SubnetKey, (IPNetwork Network, MacAddress Mac, IPAddress PublicIP)> Peers { get; } = [];

        /// <summary>A lease's VTEP MAC and public address in this family, or null when that half cannot be programmed.</summary>
        public (MacAddress Mac, IPAddress PublicIP)? Entries(Lease lease) =>
            Of.SubnetOf(lease.Subnet) is not null && Of.Problem(lease, out byte[] mac) is null
                ? (MacAddress.FromBytes(mac), Of.PublicAddressOf(lease)!)
                : null;

        public void BeginPlan()
        {
            _beforePeers.Clear();
            _beforeMacs.Clear();
        }

        public void RememberMacOf((MacAddress Mac, IPAddress PublicIP)? entries)
        {
            if (entries is { } e)
            {
                RememberMac(e.Mac);
            }
        }

        /// <summary>Adds a lease's half; in a plan, <see cref="Remove"/> is called for the subnet first.</summary>
        public bool TryAdd(SubnetKey subnet, IPNetwork network, (MacAddress Mac, IPAddress PublicIP) entries)
        {
            if (network.PrefixLength != _subnetLen || IPAddressMath.Overlaps(network, OwnSubnet) || _byNetwork.ContainsKey(network))
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
            Peers[subnet] = (network, entries.Mac, entries.PublicIP);
            _byNetwork[network] = subnet;
            return true;
        }

        public void Remove(SubnetKey subnet)
        {
            if (Of.SubnetOf(subnet) is not { } network)
            {
                return;
            }

            RememberPeer(network); // also when absent: an added lease is then planned from "was not there"
            if (!Peers.TryGetValue(subnet, out var entries))
            {
                return;
            }

            RememberMac(entries.Mac);
            Peers.Remove(subnet);
            _byNetwork.Remove(entries.Network);
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

        /// <summary>The net changes for what this plan touched, sorted into the four phases of a full diff.</summary>
        public void Plan(List<NetlinkChange> routeDeletes, List<NetlinkChange> entryReplaces, List<NetlinkChange> routeReplaces, List<NetlinkChange> entryDeletes)
        {
            foreach ((MacAddress mac, IPAddress? wasAt) in _beforeMacs)
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

            foreach ((IPNetwork network, var was) in _beforePeers)
            {
                IPAddress gateway = network.BaseAddress;
                var route = RouteEntry.ViaGateway(network, gateway, _deviceIndex, onLink: true);
                if (_byNetwork.TryGetValue(network, out SubnetKey holder))
                {
                    MacAddress mac = Peers[holder].Mac;
                    if (was is null || was.Value.Mac != mac)
                    {
                        entryReplaces.Add(new(ChangeOperation.Replace, new NeighbourEntry(_deviceIndex, gateway, mac)));
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
        }

        private void RememberPeer(IPNetwork network)
        {
            if (!_beforePeers.ContainsKey(network))
            {
                _beforePeers[network] = _byNetwork.TryGetValue(network, out SubnetKey holder) ? (Peers[holder].Mac, Peers[holder].PublicIP) : null;
            }
        }

        private void RememberMac(MacAddress mac)
        {
            if (!_beforeMacs.ContainsKey(mac))
            {
                _beforeMacs[mac] = _macs.TryGetValue(mac, out var owner) ? owner.PublicIP : null;
            }
        }
    }
}
