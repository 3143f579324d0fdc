using System.Net;
using System.Net.Sockets;
using Overlay.Core.Addressing;
using Overlay.Core.Config;
using Overlay.Core.Leases;

namespace Overlay.Core.Allocation;

/// <summary>
/// Chooses a node's subnet in flannel's order, as a pure function of the config, the leases in etcd, the
/// node's identity and its previous subnet (keys with unreadable values count as held): (1) a lease that is this node's and fits the config, (2) the
/// previous subnet if free, (3) a random pick among the first <see cref="MaxCandidates"/> free subnets.
/// </summary>
public static class SubnetAllocator
{
    /// <summary>flannel draws its random pick from at most this many free subnets, walking up from SubnetMin.</summary>
    public const int MaxCandidates = 100;

    public static AllocationDecision Decide(
        NetworkConfig config,
        IReadOnlyCollection<Lease> leases,
        NodeIdentity self,
        SubnetKey? previous,
        Random random,
        IReadOnlyCollection<SubnetKey>? unreadable = null)
    {
        // A key whose value cannot be read still holds its subnet in etcd: picking it would fail the create guard forever.
        IReadOnlyCollection<SubnetKey> held = [.. leases.Select(l => l.Subnet), .. unreadable ?? []];
        var stale = new List<Lease>();
        Lease? own = FindOwnLease(config, leases, self, stale);
        if (own is not null)
        {
            string how = own.Attributes.OwnerId == self.OwnerId ? $"owner id {self.OwnerId}" : $"public IP {self.PublicIP}";
            string what = own.IsReservation ? "reservation" : "lease";
            return new(AllocationOutcome.ReuseLease, own.Subnet, own, $"reusing the {what} {own.Subnet} that matches this node's {how}", stale);
        }

        // The network may have changed since this node last ran, or someone took the subnet while it was away.
        if (previous is { } prior && Fits(config, prior) && !held.Any(h => Overlaps(h, prior)))
        {
            return new(AllocationOutcome.ReusePreviousSubnet, prior, null, $"reusing the previous subnet {prior} from the subnet file", stale);
        }

        IPNetwork? v4 = PickFree(config.Network.BaseAddress.AddressFamily, config.SubnetLen, config.SubnetMin, config.SubnetMax,
            held.Select(h => h.IPv4), random, out int v4Candidates);
        if (v4 is null)
        {
            return new(AllocationOutcome.OutOfSubnets, null, null,
                $"out of subnets: every /{config.SubnetLen} from {config.SubnetMin} to {config.SubnetMax} in {config.Network} is leased", stale);
        }

        IPNetwork? v6 = null;
        if (config.IPv6 is { } v6Config)
        {
            v6 = PickFree(AddressFamily.InterNetworkV6, v6Config.SubnetLen, v6Config.SubnetMin, v6Config.SubnetMax,
                held.Where(h => h.IPv6 is not null).Select(h => h.IPv6!.Value), random, out _);
            if (v6 is null)
            {
                return new(AllocationOutcome.OutOfSubnets, null, null,
                    $"out of subnets: every /{v6Config.SubnetLen} from {v6Config.SubnetMin} to {v6Config.SubnetMax} in {v6Config.Network} is leased", stale);
            }
        }

        var key = new SubnetKey(v4.Value, v6);
        return new(AllocationOutcome.PickFree, key, null, $"picked the free subnet {key} at random from {v4Candidates} free candidates", stale);
    }

    /// <summary>True when the key's subnets have the configured lengths and lie between SubnetMin and SubnetMax.</summary>
    public static bool Fits(NetworkConfig config, SubnetKey key)
    {
        if (!FitsRange(key.IPv4, config.Network, config.SubnetLen, config.SubnetMin, config.SubnetMax))
        {
            return false;
        }

        if (config.IPv6 is { } v6)
        {
            return key.IPv6 is { } keyV6 && FitsRange(keyV6, v6.Network, v6.SubnetLen, v6.SubnetMin, v6.SubnetMax);
        }

        return true;
    }

    public static bool Overlaps(SubnetKey a, SubnetKey b) =>
        IPAddressMath.Overlaps(a.IPv4, b.IPv4)
        || (a.IPv6 is { } a6 && b.IPv6 is { } b6 && IPAddressMath.Overlaps(a6, b6));

    /// <summary>True when the lease belongs to this node: by owner id, or (for leases without one, such as flannel's) by public IP.</summary>
    public static bool IsOwnedBy(Lease lease, NodeIdentity self) =>
        lease.Attributes.OwnerId is { } owner
            ? string.Equals(owner, self.OwnerId, StringComparison.Ordinal)
            : self.PublicIP.Equals(lease.Attributes.PublicAddress);

    private static Lease? FindOwnLease(NetworkConfig config, IReadOnlyCollection<Lease> leases, NodeIdentity self, List<Lease> stale)
    {
        Lease? byOwner = null;
        Lease? byAddress = null;
        foreach (Lease lease in leases.OrderBy(l => IPAddressMath.First(l.Subnet.IPv4)))
        {
            if (!IsOwnedBy(lease, self))
            {
                continue;
            }

            if (!Fits(config, lease.Subnet))
            {
                // flannel deletes its own lease when the config moved away from it; a reservation is the
                // admin's to remove, so it is left alone.
                if (!lease.IsReservation)
                {
                    stale.Add(lease);
                }

                continue;
            }

            if (lease.Attributes.OwnerId is not null)
            {
                byOwner ??= lease;
            }
            else
            {
                byAddress ??= lease;
            }
        }

        return byOwner ?? byAddress;
    }

    private static bool FitsRange(IPNetwork subnet, IPNetwork network, int subnetLen, IPAddress min, IPAddress max)
    {
        if (subnet.PrefixLength != subnetLen || !IPAddressMath.Covers(network, subnet))
        {
            return false;
        }

        UInt128 first = IPAddressMath.First(subnet);
        return first >= IPAddressMath.ToUInt128(min) && first <= IPAddressMath.ToUInt128(max);
    }

    /// <summary>
    /// Walks SubnetMin..SubnetMax in subnet steps, skipping every subnet that overlaps a held one, and picks
    /// one of the first <see cref="MaxCandidates"/> free ones at random.
    /// </summary>
    private static IPNetwork? PickFree(AddressFamily family, int subnetLen, IPAddress min, IPAddress max, IEnumerable<IPNetwork> held, Random random, out int candidateCount)
    {
        // Held ranges sorted by start, so the walk below skips them with one forward-moving cursor.
        (UInt128 First, UInt128 Last)[] taken = held
            .Where(n => n.BaseAddress.AddressFamily == family)
            .Select(n => (IPAddressMath.First(n), IPAddressMath.Last(n)))
            .OrderBy(r => r.Item1)
            .ToArray();

        UInt128 size = IPAddressMath.BlockSize(family, subnetLen);
        UInt128 end = IPAddressMath.ToUInt128(max);
        var candidates = new List<UInt128>(MaxCandidates);
        int cursor = 0;
        UInt128 candidate = IPAddressMath.ToUInt128(min);
        while (candidate <= end && candidates.Count < MaxCandidates)
        {
            UInt128 last = candidate + size - 1;
            while (cursor < taken.Length && taken[cursor].Last < candidate)
            {
                cursor++;
            }

            bool overlaps = false;
            for (int i = cursor; i < taken.Length && taken[i].First <= last; i++)
            {
                if (taken[i].Last >= candidate)
                {
                    overlaps = true;
                    break;
                }
            }

            if (!overlaps)
            {
                candidates.Add(candidate);
            }

            if (end - candidate < size)
            {
                break; // the next step would pass SubnetMax (or wrap around the address space)
            }

            candidate += size;
        }

        candidateCount = candidates.Count;
        if (candidates.Count == 0)
        {
            return null;
        }

        return IPAddressMath.Network(candidates[random.Next(candidates.Count)], family, subnetLen);
    }
}
