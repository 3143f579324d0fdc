using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Overlay.TestKit.Chaos;

/// <summary>The faults a <see cref="FaultInjector"/> can inject, each as an operator meets it.</summary>
public enum FaultKind
{
    /// <summary>etcd killed (SIGKILL) and started again on its data: one member, chosen at random, of an etcd cluster.</summary>
    EtcdRestart,

    /// <summary>A node's overlayd killed with SIGKILL and started again.</summary>
    OverlaydKilled,

    /// <summary>A route to another node's subnet deleted from flannel.1 by hand.</summary>
    RouteDeleted,

    /// <summary>The neighbour entry of another node's VTEP deleted by hand.</summary>
    NeighbourDeleted,

    /// <summary>The FDB entry of another node's VTEP deleted by hand.</summary>
    FdbEntryDeleted,

    /// <summary>flannel.1 deleted by hand (its routes, neighbours and FDB entries go with it).</summary>
    VxlanDeviceDeleted,

    /// <summary>overlayd's nftables table (<c>ip overlay</c>) flushed by hand.</summary>
    NftTableFlushed,

    /// <summary>A node's underlay link (eth0) set down for <see cref="FaultInjector.LinkDownTime"/>, then up.</summary>
    UnderlayLinkDown,

    /// <summary>A node's lease deleted in etcd (etcdctl del).</summary>
    LeaseDeleted,
}

/// <summary>What one injected fault did and how long the cluster took to be whole again.</summary>
/// <param name="Started">When the fault began (a <see cref="Stopwatch"/> timestamp).</param>
/// <param name="Ended">When the injection was over: the device deleted, the link up again, overlayd started again.</param>
/// <param name="KernelMatched">When every node's kernel first equalled etcd's lease set again, or null if not within the bound.</param>
/// <param name="Repaired">
/// When the cluster was whole again (kernels equal etcd, every overlayd ready, the fault's own check held), or null if not
/// within the bound.
/// </param>
public sealed record InjectedFault(FaultKind Kind, string Node, string What, long Started, long Ended, long? KernelMatched, long? Repaired)
{
    /// <summary>From the end of the injection until the kernels equalled etcd again; null when they did not.</summary>
    public TimeSpan? KernelMatchTime => KernelMatched is { } at ? Stopwatch.GetElapsedTime(Ended, at) : null;

    /// <summary>From the end of the injection to the repair; null when it was not repaired.</summary>
    public TimeSpan? RepairTime => Repaired is { } at ? Stopwatch.GetElapsedTime(Ended, at) : null;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Kind} on {Node}: {What}; kernel {(KernelMatchTime is { } k ? $"matched etcd {k.TotalMilliseconds:F0} ms after" : "did NOT match etcd")}, {(RepairTime is { } t ? $"whole {t.TotalMilliseconds:F0} ms after" : "NOT whole again")}");
}

/// <summary>
/// Injects one fault at a time into a running <see cref="OverlayCluster"/> (overlayd on every node, <c>--ip-masq</c> for
/// the nftables fault) and waits until the cluster is whole again: every node's kernel equals etcd's lease set
/// (<see cref="KernelAgreement"/>), every overlayd answers /readyz, and the fault's own check holds (the lease is back,
/// the nftables table holds its rules again). Victims are chosen with the given <see cref="Random"/>, so a seed replays a run.
/// </summary>
public sealed class FaultInjector(OverlayCluster cluster, Random random)
{
    /// <summary>How long the underlay link stays down.</summary>
    public static readonly TimeSpan LinkDownTime = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait for a repair before the fault is recorded as not repaired.</summary>
    /// <remarks>Generous: a restarted overlayd (dotnet) can take tens of seconds to be ready on a loaded machine.</remarks>
    public TimeSpan RepairBound { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Restarts etcd; null: the cluster's etcd, or a member of its <see cref="OverlayCluster.EtcdCluster"/>.</summary>
    public Func<Task<string>>? RestartEtcd { get; init; }

    public async Task<InjectedFault> InjectAsync(FaultKind kind, CancellationToken ct = default)
    {
        ClusterNode node = cluster.Nodes[random.Next(cluster.Nodes.Count)];
        ClusterNode peer = cluster.Nodes.Where(n => n != node).ElementAt(random.Next(cluster.Nodes.Count - 1));
        string victim = node.Name;
        long started = Stopwatch.GetTimestamp();
        string what;
        Func<bool> ownCheck = () => true;
        switch (kind)
        {
            case FaultKind.EtcdRestart:
                what = RestartEtcd is { } restart ? await restart().ConfigureAwait(false) : await RestartEtcdAsync(ct).ConfigureAwait(false);
                victim = cluster.EtcdCluster is null ? "etcd" : "etcd cluster";
                break;
            case FaultKind.OverlaydKilled:
                node.KillDaemon();
                node.StartDaemon();
                what = "SIGKILL, started again";
                break;
            case FaultKind.RouteDeleted:
                what = $"ip route del {peer.LeaseSubnet} dev {KernelAgreement.Device}";
                node.Ns.ExecChecked("ip", "route", "del", peer.LeaseSubnet, "dev", KernelAgreement.Device);
                break;
            case FaultKind.NeighbourDeleted:
                string gateway = peer.LeaseSubnet.Split('/')[0];
                what = $"ip neigh del {gateway} dev {KernelAgreement.Device}";
                node.Ns.ExecChecked("ip", "neigh", "del", gateway, "dev", KernelAgreement.Device);
                break;
            case FaultKind.FdbEntryDeleted:
                string mac = KernelAgreement.Read(node.Ns).Fdb.First(f => f.EndsWith(" " + peer.UnderlayAddress, StringComparison.Ordinal)).Split(' ')[0];
                what = $"bridge fdb del {mac} dev {KernelAgreement.Device} dst {peer.UnderlayAddress}";
                node.Ns.ExecChecked("bridge", "fdb", "del", mac, "dev", KernelAgreement.Device, "dst", peer.UnderlayAddress);
                break;
            case FaultKind.VxlanDeviceDeleted:
                what = $"ip link del {KernelAgreement.Device}";
                node.Ns.ExecChecked("ip", "link", "del", KernelAgreement.Device);
                break;
            case FaultKind.NftTableFlushed:
                what = "nft flush table ip overlay";
                node.Ns.ExecChecked("nft", "flush", "table", "ip", "overlay");
                ownCheck = () => NftTableHoldsRules(node);
                break;
            case FaultKind.UnderlayLinkDown:
                what = $"ip link set eth0 down; {LinkDownTime.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; up";
                node.Ns.ExecChecked("ip", "link", "set", "eth0", "down");
                await Task.Delay(LinkDownTime, ct).ConfigureAwait(false);
                node.Ns.ExecChecked("ip", "link", "set", "eth0", "up");
                // The link's routes went with it; the connected one comes back by itself, the default route does not.
                node.Ns.ExecChecked("ip", "route", "replace", "default", "via", OverlayCluster.SwitchAddress);
                break;
            case FaultKind.LeaseDeleted:
                string key = node.LeaseKey;
                string subnet = node.LeaseSubnet;
                cluster.Etcdctl("del", key).EnsureSuccess();
                what = $"etcdctl del {key}";
                ownCheck = () => node.ReadSubnetFile() is not null && node.LeaseSubnet == subnet && cluster.LeasesInEtcd().ContainsKey(key);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        long ended = Stopwatch.GetTimestamp();
        (long? kernelMatched, long? repaired) = await WaitForRepairAsync(ownCheck, ct).ConfigureAwait(false);
        return new InjectedFault(kind, victim, what, started, ended, kernelMatched, repaired);
    }

    /// <summary>
    /// Whether the cluster is whole: every node's kernel equals etcd's lease set and every overlayd is ready.
    /// Returns the differences (empty when whole).
    /// </summary>
    public IReadOnlyList<string> Differences() => [.. DaemonDifferences(), .. KernelAgreement.Differences(cluster, cluster.Nodes)];

    private List<string> DaemonDifferences()
    {
        Task<string?>[] checks = cluster.Nodes.Select(node => Task.Run(() =>
            node.Daemon is not { HasExited: false } ? $"{node.Name}: overlayd is not running"
            : !IsReady(node) ? $"{node.Name}: overlayd is not ready"
            : null)).ToArray();
        return checks.Select(c => c.GetAwaiter().GetResult()).OfType<string>().ToList();
    }

    private async Task<(long? KernelMatched, long? Repaired)> WaitForRepairAsync(Func<bool> ownCheck, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        long? kernelMatched = null;
        while (clock.Elapsed < RepairBound)
        {
            bool kernel = KernelAgreement.Differences(cluster, cluster.Nodes).Count == 0;
            // The end of the reading, not its start: the time is an upper bound, never flattering.
            kernelMatched ??= kernel ? Stopwatch.GetTimestamp() : null;
            if (kernel && DaemonDifferences().Count == 0 && ownCheck())
            {
                return (kernelMatched, Stopwatch.GetTimestamp());
            }

            await Task.Delay(20, ct).ConfigureAwait(false);
        }

        return (kernelMatched, null);
    }

    private async Task<string> RestartEtcdAsync(CancellationToken ct)
    {
        if (cluster.EtcdCluster is { } members)
        {
            EtcdMember member = members.Members[random.Next(members.Members.Count)];
            await members.KillAsync(member).ConfigureAwait(false);
            await members.RestartAsync(member, ct).ConfigureAwait(false);
            return $"member {member.Name} SIGKILL, started again on its data";
        }

        await cluster.Etcd.StopAsync().ConfigureAwait(false);
        await cluster.Etcd.StartAgainAsync(ct).ConfigureAwait(false);
        return "etcd SIGKILL, started again on its data";
    }

    /// <summary>GET /readyz from inside the node (bash's /dev/tcp; no curl needed).</summary>
    public static bool IsReady(ClusterNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        CommandResult result = node.Ns.Exec("bash", "-c",
            $"exec 3<>/dev/tcp/{node.UnderlayAddress}/9100 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3");
        return result.StdOut.StartsWith("HTTP/1.1 200", StringComparison.Ordinal) || result.StdOut.StartsWith("HTTP/1.0 200", StringComparison.Ordinal);
    }

    /// <summary>Whether the node's <c>ip overlay</c> table holds its masquerade rules.</summary>
    public static bool NftTableHoldsRules(ClusterNode node)
    {
        ArgumentNullException.ThrowIfNull(node);
        CommandResult result = node.Ns.Exec("nft", "-j", "list", "table", "ip", "overlay");
        if (!result.Succeeded)
        {
            return false;
        }

        using var json = JsonDocument.Parse(result.StdOut);
        return json.RootElement.GetProperty("nftables").EnumerateArray().Any(e => e.TryGetProperty("rule", out _));
    }
}
