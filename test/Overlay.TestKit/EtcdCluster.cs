using System.Globalization;
using System.Text.Json;
using NUnit.Framework;
using NUnit.Framework.Interfaces;

namespace Overlay.TestKit;

/// <summary>Where an <see cref="EtcdCluster"/> runs.</summary>
public sealed class EtcdClusterOptions
{
    /// <summary>
    /// The lab that owns the members' namespaces; with <see cref="Switch"/>. Null: the cluster makes its own lab with a
    /// switch namespace, a bridge br0 and <see cref="OverlayCluster.SwitchAddress"/>/24 on it, and deletes it on dispose.
    /// </summary>
    public NetworkLab? Lab { get; init; }

    /// <summary>The namespace holding <see cref="Bridge"/>, the segment the members are plugged into.</summary>
    public NetNs? Switch { get; init; }

    public string Bridge { get; init; } = "br0";

    /// <summary>How many members; 3 tolerates one down, 5 two.</summary>
    public int Members { get; init; } = 3;
}

/// <summary>
/// A real etcd 3.4 cluster (three members unless told otherwise) for fault tests. Each member is one etcd process
/// in its own small namespace plugged into the switch's bridge by a veth, on its own address (192.0.2.2, .3, .4:
/// below the nodes' 192.0.2.11 and up) with the usual ports 2379 (clients) and 2380 (peers), a static
/// --initial-cluster and a temporary data folder removed on dispose. The members have a namespace each rather than
/// sharing the switch's because traffic between processes of one namespace goes over loopback, where no cable can
/// be pulled: <see cref="Partition"/> sets the member's veth down on the switch side, which cuts its peers and its
/// clients alike, without resets, like a real partition.
/// </summary>
public sealed class EtcdCluster : IAsyncDisposable
{
    /// <summary>The first member's address is 192.0.2.(this + 1).</summary>
    private const int FirstHost = 2;

    private readonly NetworkLab? _ownLab;
    private readonly List<EtcdMember> _members;
    private bool _disposed;

    private EtcdCluster(NetNs switchNs, NetworkLab? ownLab, List<EtcdMember> members)
    {
        Switch = switchNs;
        _ownLab = ownLab;
        _members = members;
    }

    public IReadOnlyList<EtcdMember> Members => _members;

    /// <summary>Every member's client URL, comma-separated: what --etcd-endpoints takes.</summary>
    public string Endpoints => string.Join(",", _members.Select(m => m.Endpoint));

    /// <summary>The namespace the members are plugged into; <see cref="Etcdctl"/> runs there.</summary>
    public NetNs Switch { get; }

    /// <summary>Starts the members together (each waits for the others: its health needs a quorum) and returns once every one is healthy.</summary>
    public static async Task<EtcdCluster> StartAsync(EtcdClusterOptions? options = null, CancellationToken ct = default)
    {
        options ??= new EtcdClusterOptions();
        if (options.Members is < 1 or > 8)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Members, "an etcd cluster here has 1 to 8 members");
        }

        if ((options.Lab is null) != (options.Switch is null))
        {
            throw new ArgumentException("give both Lab and Switch, or neither", nameof(options));
        }

        NetworkLab? ownLab = null;
        NetworkLab lab;
        NetNs switchNs;
        if (options.Lab is { } given)
        {
            lab = given;
            switchNs = options.Switch!;
        }
        else
        {
            lab = ownLab = NetworkLab.Create();
            switchNs = lab.AddNamespace("sw");
            lab.AddBridge(switchNs, options.Bridge);
            switchNs.AddAddress(options.Bridge, OverlayCluster.SwitchAddress + "/24");
        }

        var members = new List<EtcdMember>();
        var cluster = new EtcdCluster(switchNs, ownLab, members);
        try
        {
            for (int i = 1; i <= options.Members; i++)
            {
                string name = "etcd" + i.ToString(CultureInfo.InvariantCulture);
                string address = "192.0.2." + (FirstHost + i - 1).ToString(CultureInfo.InvariantCulture);
                NetNs ns = lab.AddNamespace(name);
                lab.AddVethPair(ns, switchNs, "eth0", name);
                lab.AttachToBridge(switchNs, name, options.Bridge);
                ns.AddAddress("eth0", address + "/24");
                members.Add(new EtcdMember(i - 1, name, address, ns, name));
            }

            string initialCluster = string.Join(",", members.Select(m => $"{m.Name}={m.PeerUrl}"));
            EtcdServer[] servers = await Task.WhenAll(members.Select(m => EtcdServer.StartAsync(
                new EtcdServerOptions
                {
                    Namespace = m.Namespace,
                    ListenAddress = m.Address,
                    Name = m.Name,
                    ClientPort = EtcdMember.ClientPort,
                    PeerPort = EtcdMember.PeerPort,
                    InitialCluster = initialCluster,
                },
                ct)));
            for (int i = 0; i < members.Count; i++)
            {
                members[i].Server = servers[i];
            }

            using JsonDocument list = JsonDocument.Parse(cluster.Etcdctl("member", "list", "-w", "json").EnsureSuccess().StdOut);
            foreach (JsonElement member in list.RootElement.GetProperty("members").EnumerateArray())
            {
                string memberName = member.GetProperty("name").GetString()!;
                members.Single(m => m.Name == memberName).Id = member.GetProperty("ID").GetUInt64();
            }

            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>SIGKILL: the member's process dies at once (its connections are closed by the kernel); its data stays for <see cref="RestartAsync"/>.</summary>
    public Task KillAsync(EtcdMember member) => ServerOf(member).StopAsync();

    /// <summary>SIGSTOP: the member's process hangs; its connections stay open and unanswered.</summary>
    public void Freeze(EtcdMember member) => Signal(member, "STOP");

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Continue(EtcdMember member) => Signal(member, "CONT");

    /// <summary>
    /// Starts a killed member again on its data and waits until it answers a health check, which needs a quorum:
    /// bring two members of three back together (<c>Task.WhenAll</c>).
    /// </summary>
    public Task RestartAsync(EtcdMember member, CancellationToken ct = default) => ServerOf(member).StartAgainAsync(ct);

    /// <summary>Pulls the member's cable at the switch: neither peers nor clients reach it, and it reaches none of them.</summary>
    public void Partition(EtcdMember member) => Switch.ExecIp("link", "set", member.SwitchPort, "down");

    /// <summary>Plugs a partitioned member back in.</summary>
    public void Heal(EtcdMember member) => Switch.ExecIp("link", "set", member.SwitchPort, "up");

    /// <summary>
    /// The leader as the members that answer see it (etcdctl endpoint status from the switch, each member asked on its
    /// own): the member that answers itself as the leader and that a majority of the whole cluster names; null while
    /// there is none (an election, no quorum, or followers still naming a leader that died).
    /// </summary>
    public EtcdMember? Leader()
    {
        (EtcdMember Member, ulong? Leader)[] views = [.. _members.AsParallel().Select(m => (m, LeaderSeenBy(m)))];
        int quorum = (_members.Count / 2) + 1;
        return views
            .Where(v => v.Leader == v.Member.Id && views.Count(o => o.Leader == v.Member.Id) >= quorum)
            .Select(v => v.Member)
            .FirstOrDefault();
    }

    /// <summary>Waits for a leader a majority agrees on; throws with the members' logs when none comes.</summary>
    public EtcdMember WaitForLeader(TimeSpan? timeout = null)
    {
        EtcdMember? leader = null;
        if (!Poll.Until(() => (leader = Leader()) is not null, timeout ?? TimeSpan.FromSeconds(20)))
        {
            throw new TimeoutException($"no etcd leader within {timeout ?? TimeSpan.FromSeconds(20)}:\n{Logs()}");
        }

        return leader!;
    }

    /// <summary>Whether the member answers etcdctl endpoint health from the switch (a linearizable read: it needs a quorum).</summary>
    public bool IsHealthy(EtcdMember member) =>
        EtcdctlAt([member.Endpoint], "endpoint", "health", "--dial-timeout", "1s", "--command-timeout", "2s").Succeeded;

    /// <summary>etcdctl (API v3) from the switch against every member: it fails over as any client of the cluster would.</summary>
    public CommandResult Etcdctl(params string[] args) => EtcdctlAt(_members.Select(m => m.Endpoint), args);

    /// <summary>etcdctl from the switch against the given endpoints only.</summary>
    public CommandResult EtcdctlAt(IEnumerable<string> endpoints, params string[] args) =>
        Shell.RunCore("ip", ["netns", "exec", Switch.Name, "etcdctl", "--endpoints", string.Join(",", endpoints), .. args], EtcdctlEnvironment, Shell.DefaultTimeout);

    /// <summary>Every member's log, each under its name.</summary>
    public string Logs() => string.Join("\n", _members.Select(m => $"---- {m.Name} ({m.Endpoint}) ----\n{m.Server?.Log}"));

    public void AttachLogsIfFailed()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == TestStatus.Failed)
        {
            TestContext.Out.WriteLine(Logs());
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (EtcdMember member in _members)
        {
            if (member.Server is { } server)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        _ownLab?.Dispose();
    }

    private static readonly Dictionary<string, string> EtcdctlEnvironment = new() { ["ETCDCTL_API"] = "3" };

    private ulong? LeaderSeenBy(EtcdMember member)
    {
        CommandResult status = EtcdctlAt([member.Endpoint], "endpoint", "status", "-w", "json", "--dial-timeout", "1s", "--command-timeout", "2s");
        if (!status.Succeeded)
        {
            return null;
        }

        using JsonDocument json = JsonDocument.Parse(status.StdOut);
        // etcdctl leaves zero fields out: no "leader" while the member knows none.
        return json.RootElement[0].GetProperty("Status").TryGetProperty("leader", out JsonElement leader) && leader.GetUInt64() is var id and not 0 ? id : null;
    }

    private void Signal(EtcdMember member, string signal)
    {
        int pid = ServerOf(member).ProcessId ?? throw new InvalidOperationException($"{member.Name} does not run");
        Shell.Run("kill", "-" + signal, pid.ToString(CultureInfo.InvariantCulture)).EnsureSuccess();
    }

    private EtcdServer ServerOf(EtcdMember member)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_members.Contains(member) || member.Server is not { } server)
        {
            throw new ArgumentException($"{member.Name} is not a started member of this cluster", nameof(member));
        }

        return server;
    }
}

/// <summary>One member of an <see cref="EtcdCluster"/>.</summary>
public sealed class EtcdMember
{
    public const int ClientPort = 2379;

    public const int PeerPort = 2380;

    internal EtcdMember(int index, string name, string address, NetNs ns, string switchPort)
    {
        Index = index;
        Name = name;
        Address = address;
        Namespace = ns;
        SwitchPort = switchPort;
    }

    /// <summary>0, 1, 2: its place in <see cref="EtcdCluster.Members"/>.</summary>
    public int Index { get; }

    /// <summary>etcd1, etcd2, ...: its --name.</summary>
    public string Name { get; }

    /// <summary>192.0.2.2, .3, ...</summary>
    public string Address { get; }

    public string Endpoint => $"http://{Address}:{ClientPort.ToString(CultureInfo.InvariantCulture)}";

    public string PeerUrl => $"http://{Address}:{PeerPort.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The member's own namespace; its veth end there is eth0.</summary>
    public NetNs Namespace { get; }

    /// <summary>The veth end on the switch's bridge (named like the member).</summary>
    public string SwitchPort { get; }

    /// <summary>etcd's member id (as in endpoint status' leader field).</summary>
    public ulong Id { get; internal set; }

    /// <summary>The etcd process of this member (its log, pid, data folder).</summary>
    public EtcdServer Server { get; internal set; } = null!;

    /// <summary>The running etcd's pid, or null while killed.</summary>
    public int? ProcessId => Server?.ProcessId;

    public override string ToString() => $"{Name} ({Address})";
}
