using Overlay.Core.Leases;

namespace Overlay.Core.Allocation;

public enum AllocationOutcome
{
    /// <summary>An existing lease (or reservation) belongs to this node and fits the config: renew it.</summary>
    ReuseLease,

    /// <summary>The subnet this node had before (from subnet.env) is free and fits: claim it again.</summary>
    ReusePreviousSubnet,

    /// <summary>A free subnet picked at random from the first free candidates.</summary>
    PickFree,

    /// <summary>Every subnet between SubnetMin and SubnetMax is held.</summary>
    OutOfSubnets,
}

/// <summary>What the allocator decided, why, and which of this node's leases no longer fit the config.</summary>
public sealed record AllocationDecision(
    AllocationOutcome Outcome,
    SubnetKey? Subnet,
    Lease? ExistingLease,
    string Reason,
    IReadOnlyList<Lease> StaleOwnLeases)
{
    public bool Succeeded => Outcome != AllocationOutcome.OutOfSubnets;
}
