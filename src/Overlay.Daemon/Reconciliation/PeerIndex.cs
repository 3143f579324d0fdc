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
/// In a dual-stack network each lease's IPv6 half is kept the same way, for the flannel-v6 device. Pure: no I/O.
/// </summary>
public sealed class PeerIndex
{
    private readonly NetworkConfig _config;
    private readonly SubnetKey _own;
    private readonly Family _v4;
    private readonly Family? _v6;

    private PeerIndex(NetworkConfig config, SubnetKey own, int deviceIndex, int deviceIndexV6)
    {
        _config = config;
        _own = own;
        _v4 = new Family(deviceIndex, config.SubnetLen, own.IPv4, ipv6: false);
        if (deviceIndexV6 != 0 && config.IPv6 is { } v6 && own.IPv6 is { } ownV6)
        {
            _v6 = new Family(deviceIndexV6, v6.SubnetLen, ownV6, ipv6: true);
        }
    }

    /// <summary>The leases indexed (each has its IPv4 half programmed; in the simple case nothing is skipped).</summary>
    public int Count => _v4.Peers.Count;

    /// <summary>
    /// The index of a full reconcile's outcome, or null when that outcome is not the simple case (skipped leases,
    /// direct routes, mixed lengths): then every change goes through a full reconcile.
    /// </summary>
    /// <param name="deviceIndexV6">As given to <see cref="DesiredStateBuilder.Build"/>; 0 for IPv4 only.</param>
    public static PeerIndex? TryCreate(NetworkConfig config, IEnumerable<Lease> leases, SubnetKey own, int deviceIndex, DesiredState built, int deviceIndexV6 = 0)
    {
        if (config.Backend.DirectRouting || built.Skipped.Count > 0)
        {
            return null;
        }

        var index = new PeerIndex(config, own, deviceIndex, deviceIndexV6);
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
        _v4.BeginPlan();
        _v6?.BeginPlan();

        foreach ((SubnetKey subnet, Lease? lease) in changes)
        {
            if (IPAddressMath.Overlaps(subnet.IPv4, _own.IPv4)
                || (_v6 is not null && subnet.IPv6 is { } v6 && IPAddressMath.Overlaps(v6, _own.IPv6!.Value)))
            {
                return false; // this node's own subnet: the lease keeper and a full reconcile deal with it
            }

            bool had = _v4.Peers.ContainsKey(subnet);
            if (lease is null && !had)
            {
                return false; // a lease this index never had: let a full reconcile decide
            }

            _v4.Remove(subnet);
            _v6?.Remove(subnet);
            if (lease is not null)
            {
                _v4.RememberMacOf(Entries(lease, _v4));
                if (_v6 is not null)
                {
                    _v6.RememberMacOf(Entries(lease, _v6));
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
        _v4.Plan(routeDeletes, entryReplaces, routeReplaces, entryDeletes);
        _v6?.Plan(routeDeletes, entryReplaces, routeReplaces, entryDeletes);
        plan = [.. routeDeletes, .. entryReplaces, .. routeReplaces, .. entryDeletes];
        return true;
    }

    /// <summary>A lease's VTEP MAC and public address in one family, or null when that half cannot be programmed.</summary>
    private (MacAddress Mac, IPAddress PublicIP)? Entries(Lease lease, Family family)
    {
        if (!family.IPv6)
        {
            return DesiredStateBuilder.Problem(_config, lease, out byte[] mac) is null
                ? (MacAddress.FromBytes(mac), lease.Attributes.PublicAddress!)
                : null;
        }

        return lease.Subnet.IPv6 is not null && DesiredStateBuilder.ProblemV6(_config, lease, out byte[] mac6) is null
            ? (MacAddress.FromBytes(mac6), lease.Attributes.PublicAddressV6!)
            : null;
    }

    private bool TryAdd(Lease lease)
    {
        if (IPAddressMath.Overlaps(lease.Subnet.IPv4, _own.IPv4) || Entries(lease, _v4) is not { } entries || !_v4.TryAdd(lease.Subnet, lease.Subnet.IPv4, entries))
        {
            return false;
        }

        if (_v6 is null || lease.Subnet.IPv6 is not { } v6)
        {
            return true; // a lease without an IPv6 half has only IPv4 entries, as in the full build
        }

        return !IPAddressMath.Overlaps(v6, _own.IPv6!.Value) && Entries(lease, _v6) is { } entries6 && _v6.TryAdd(lease.Subnet, v6, entries6);
    }

    /// <summary>One device's peers: the IPv4 half of every lease, or the IPv6 half.</summary>
    private sealed class Family
    {
        private readonly int _deviceIndex;
        private readonly int _subnetLen;
        private readonly IPNetwork _own;
        private readonly Dictionary<IPNetwork, SubnetKey> _byNetwork = [];
        private readonly Dictionary<MacAddress, (IPAddress PublicIP, int Leases)> _macs = [];

        // What a plan in progress touched, as it was before. By network, not lease key: two keys may share one
        // network (a dual-stack key replaced by an IPv4-only one), and the kernel's entries are per network.
        private readonly Dictionary<IPNetwork, (MacAddress Mac, IPAddress PublicIP)?> _beforePeers = [];
        private readonly Dictionary<MacAddress, IPAddress?> _beforeMacs = [];

        public Family(int deviceIndex, int subnetLen, IPNetwork own, bool ipv6)
        {
            _deviceIndex = deviceIndex;
            _subnetLen = subnetLen;
            _own = own;
            IPv6 = ipv6;
        }

        public bool IPv6 { get; }

        public Dictionary<SubnetKey, (IPNetwork Network, MacAddress Mac, IPAddress PublicIP)> Peers { get; } = [];

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
            if (network.PrefixLength != _subnetLen || IPAddressMath.Overlaps(network, _own) || _byNetwork.ContainsKey(network))
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
            if ((IPv6 ? subnet.IPv6 : subnet.IPv4) is not { } network)
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
