using System.Net;
using Overlay.Core.Services;

namespace Overlay.Daemon.Services;

/// <summary>What clients connect to: a ClusterIP, a protocol and a service port.</summary>
public readonly record struct Frontend(IPAddress ClusterIP, ServiceProtocol Protocol, int Port);

/// <summary>Where a connection to a frontend goes: an endpoint's address and its target port.</summary>
public readonly record struct Backend(IPAddress Address, int Port);

/// <summary>
/// Cluster DNS on this node: connections to <see cref="Address"/> on port 53 (UDP and TCP) are DNATed to this node's own
/// DNS listener at <see cref="Listener"/> (its VXLAN device's address), so every node answers its own pods.
/// </summary>
public readonly record struct ClusterDnsRedirect(IPAddress Address, IPAddress Listener)
{
    public const int Port = 53;
}

/// <summary>
/// Everything the rules need. A frontend with an empty backend list is a service with no endpoints (reject).
/// <see cref="ClusterIPs"/> are the addresses services hold (a ClusterIP of a service whose ports are all
/// without endpoints is still held: its connections are refused, not dropped).
/// </summary>
public sealed record ServiceRulesInput(
    IPNetwork ServiceNetwork,
    IReadOnlyList<IPNetwork> PodNetworks,
    IReadOnlyDictionary<Frontend, IReadOnlyList<Backend>> Frontends,
    IReadOnlyCollection<IPAddress> ClusterIPs)
{
    /// <summary>
    /// Where this node's own pods are (its lease's subnet): only their addresses can hairpin (a pod reaching itself
    /// through its service is on this node), so only they go into the hairpin set. Null: every endpoint, as a node
    /// that does not know its subnet must assume. A change of it needs a full load (<see cref="ServiceTable.Invalidate"/>).
    /// </summary>
    public IReadOnlyList<IPNetwork>? LocalNetworks { get; init; }

    /// <summary>Where this node answers cluster DNS; null: no DNS redirect. A change of it needs a full load.</summary>
    public ClusterDnsRedirect? ClusterDns { get; init; }

    /// <summary>
    /// What changed since the desired state the table last applied, when the producer knows (the catalog does): the
    /// planner then looks only at these frontends and ClusterIPs instead of all of them. Null: compare everything.
    /// </summary>
    public ServiceRulesChanges? Changes { get; init; }

    /// <summary>Whether <paramref name="address"/> goes into the hairpin set.</summary>
    public bool CanHairpin(IPAddress address)
    {
        if (LocalNetworks is null)
        {
            return true;
        }

        foreach (IPNetwork network in LocalNetworks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// What one <see cref="ServiceTable.ApplyAsync"/> did: element operations sent, transactions committed, whether it
/// loaded the whole table, and the backends no frontend uses any more (the caller deletes their UDP conntrack entries).
/// </summary>
public sealed record ServiceApplyResult(int ElementsAdded, int ElementsRemoved, int Transactions, bool FullLoad, IReadOnlyCollection<Backend> StaleBackends)
{
    public static readonly ServiceApplyResult Unchanged = new(0, 0, 0, false, []);
}

/// <summary>The frontends and ClusterIPs that were added, changed or removed since the last desired state.</summary>
public sealed record ServiceRulesChanges(IReadOnlyCollection<Frontend> Frontends, IReadOnlyCollection<IPAddress> ClusterIPs);
