using System.Diagnostics;
using Overlay.TestKit;

namespace Overlay.Daemon.Tests.EndToEnd;

/// <summary>The kernel follows etcd as nodes come and go, and is repaired when someone changes it.</summary>
[NonParallelizable]
public class SelfHealingTests
{
    private static readonly TimeSpan DepartureGraceAndMargin = TimeSpan.FromSeconds(3);

    private OverlayCluster _cluster = null!;

    [SetUp]
    public async Task StartCluster()
    {
        Root.Require();
        _cluster = await Daemon.StartClusterAsync(args: ["--resync-interval", "30s"]);
        foreach (ClusterNode node in _cluster.Nodes)
        {
            node.WaitForSubnetFile();
        }

        Assert.That(Poll.Until(() => _cluster.Nodes.All(n => Kernel.RoutesToAll(n, _cluster.Nodes))), Is.True, "the cluster did not converge");
    }

    [TearDown]
    public async Task StopCluster()
    {
        _cluster?.AttachLogsIfFailed();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    [Test]
    public void A_node_that_joins_is_programmed_on_the_others()
    {
        ClusterNode newcomer = _cluster.AddNode();
        newcomer.StartDaemon();
        newcomer.WaitForSubnetFile();

        Assert.That(Poll.Until(() => _cluster.Nodes.All(n => Kernel.RoutesToAll(n, _cluster.Nodes))), Is.True);
        Assert.That(Kernel.Fdb(_cluster.Nodes[0].Ns).Select(f => f.Split(' ')[1]), Does.Contain(newcomer.UnderlayAddress));
    }

    [Test]
    public void A_deleted_lease_takes_its_entries_away_on_the_other_nodes()
    {
        ClusterNode leaving = _cluster.Nodes[2];
        leaving.KillDaemon();
        string subnet = leaving.LeaseSubnet;

        _cluster.Etcd.Etcdctl("del", leaving.LeaseKey).EnsureSuccess();

        foreach (ClusterNode node in _cluster.Nodes.Take(2))
        {
            Assert.That(Poll.Until(() => !Kernel.RoutesOnDevice(node.Ns).Any(r => r.StartsWith(subnet, StringComparison.Ordinal))), Is.True, $"route to {subnet} still on {node.Name}");
            Assert.That(Kernel.Neighbours(node.Ns).Any(n => n.StartsWith(Kernel.LeaseAddress(leaving) + " ", StringComparison.Ordinal)), Is.False);
            Assert.That(Kernel.Fdb(node.Ns).Any(f => f.EndsWith(" " + leaving.UnderlayAddress, StringComparison.Ordinal)), Is.False);
        }
    }

    [Test]
    public void A_lease_deleted_while_its_node_runs_is_put_back_and_the_other_nodes_never_remove_its_entries()
    {
        ClusterNode owner = _cluster.Nodes[2];
        string subnet = owner.LeaseSubnet;
        // `ip monitor` in the other nodes: the independent record of every route, neighbour and FDB deletion.
        List<(ClusterNode Node, Process Monitor)> monitors = [.. _cluster.Nodes.Take(2).Select(n => (n, n.Ns.Start("ip", ["-o", "monitor", "route", "neigh"])))];
        Thread.Sleep(300); // the monitors are listening

        _cluster.Etcd.Etcdctl("del", owner.LeaseKey).EnsureSuccess();

        Assert.That(Poll.Until(() => _cluster.Etcd.Etcdctl("get", owner.LeaseKey, "--print-value-only").StdOut.Contains(owner.UnderlayAddress, StringComparison.Ordinal)), Is.True,
            $"{owner.Name} puts its lease {subnet} back");
        Thread.Sleep(DepartureGraceAndMargin); // past the other nodes' departure grace: a late removal would show now

        foreach ((ClusterNode node, Process monitor) in monitors)
        {
            monitor.Kill();
            ProcessOutput.WaitForEnd(monitor, TimeSpan.FromSeconds(5));
            string[] deletions = [.. monitor.Output.Split('\n').Where(l => l.StartsWith("Deleted", StringComparison.Ordinal))];
            string address = Kernel.LeaseAddress(owner);
            Assert.That(deletions.Where(l => l.Contains(address + "/", StringComparison.Ordinal) || l.Contains(address + " ", StringComparison.Ordinal) || l.Contains($" {owner.UnderlayAddress} ", StringComparison.Ordinal)), Is.Empty,
                $"{node.Name} removed an entry of {subnet}:\n{monitor.Output}");
            Assert.That(Kernel.RoutesOnDevice(node.Ns).Any(r => r.StartsWith(subnet, StringComparison.Ordinal)), Is.True, $"route to {subnet} on {node.Name}");
        }
    }

    [Test]
    public void A_route_a_neighbour_and_an_FDB_entry_deleted_by_hand_come_back_within_a_second()
    {
        ClusterNode node = _cluster.Nodes[0];
        ClusterNode peer = _cluster.Nodes[1];
        string subnet = peer.LeaseSubnet;
        string mac = Kernel.Neighbours(node.Ns).Single(n => n.StartsWith(Kernel.LeaseAddress(peer) + " ", StringComparison.Ordinal)).Split(' ')[1];

        var clock = Stopwatch.StartNew();
        node.Ns.ExecChecked("ip", "route", "del", subnet, "dev", Kernel.Device);
        node.Ns.ExecChecked("ip", "neigh", "del", Kernel.LeaseAddress(peer), "dev", Kernel.Device);
        node.Ns.ExecChecked("bridge", "fdb", "del", mac, "dev", Kernel.Device, "dst", peer.UnderlayAddress);

        Assert.That(Poll.Until(() => Kernel.RoutesToAll(node, _cluster.Nodes)
            && Kernel.Neighbours(node.Ns).Contains($"{Kernel.LeaseAddress(peer)} {mac}")
            && Kernel.Fdb(node.Ns).Contains($"{mac} {peer.UnderlayAddress}"), TimeSpan.FromSeconds(1)), Is.True,
            $"not restored within 1 s (resync interval is 30 s); after {clock.ElapsedMilliseconds} ms");
    }

    [Test]
    public void A_deleted_device_is_recreated_and_fully_reprogrammed()
    {
        ClusterNode node = _cluster.Nodes[1];
        string mac = node.Ns.IpJson("link", "show", Kernel.Device)[0].GetProperty("address").GetString()!;

        node.Ns.ExecChecked("ip", "link", "del", Kernel.Device);

        Assert.That(Poll.Until(() => node.Ns.Exec("ip", "link", "show", Kernel.Device).ExitCode == 0 && Kernel.RoutesToAll(node, _cluster.Nodes), TimeSpan.FromSeconds(5)), Is.True);
        Assert.That(node.Ns.IpJson("link", "show", Kernel.Device)[0].GetProperty("address").GetString(), Is.EqualTo(mac), "the VTEP MAC must survive");
        Assert.That(Kernel.Neighbours(node.Ns), Has.Count.EqualTo(2));
        Assert.That(Kernel.Fdb(node.Ns), Has.Count.EqualTo(2));
    }

    [Test]
    public void A_garbage_value_under_the_subnets_prefix_is_skipped_and_no_route_is_removed()
    {
        _cluster.Etcd.Etcdctl("put", _cluster.Prefix + "/subnets/198.18.250.0-24", "{not json").EnsureSuccess();
        _cluster.Etcd.Etcdctl("put", _cluster.Prefix + "/subnets/garbage-key", "{}").EnsureSuccess();
        ClusterNode newcomer = _cluster.AddNode();
        newcomer.StartDaemon();
        newcomer.WaitForSubnetFile();

        // The change after the garbage is still applied, and nothing was torn down on the way.
        Assert.That(Poll.Until(() => _cluster.Nodes.All(n => Kernel.RoutesToAll(n, _cluster.Nodes))), Is.True);
        Assert.That(_cluster.Nodes.Select(n => n.Daemon!.HasExited), Has.All.False, "every overlayd still runs");
        Assert.That(_cluster.Nodes[0].DaemonOutput, Does.Contain("198.18.250.0-24"), "the bad value should be reported");
    }

    [Test]
    public void A_VTEP_MAC_changed_by_someone_is_set_back()
    {
        ClusterNode node = _cluster.Nodes[2];
        string mac = node.Ns.IpJson("link", "show", Kernel.Device)[0].GetProperty("address").GetString()!;

        node.Ns.ExecChecked("ip", "link", "set", Kernel.Device, "address", "02:00:00:00:00:99");

        Assert.That(Poll.Until(() => node.Ns.IpJson("link", "show", Kernel.Device)[0].GetProperty("address").GetString() == mac, TimeSpan.FromSeconds(2)), Is.True,
            "the MAC in the lease must stay the device's MAC");
    }
}
