using System.Text.Json;
using NUnit.Framework;
using Overlay.TestKit;

namespace Overlay.TestKit.Tests;

[NonParallelizable]
public class EtcdClusterTests
{
    private EtcdCluster? cluster;

    [SetUp]
    public async Task StartCluster()
    {
        Root.Require();
        cluster = await EtcdCluster.StartAsync();
    }

    [TearDown]
    public async Task StopCluster()
    {
        if (cluster is not null)
        {
            cluster.AttachLogsIfFailed();
            await cluster.DisposeAsync();
        }
    }

    private EtcdCluster Cluster => cluster!;

    /// <summary>A serializable read answered by this member alone, from inside its own namespace: what it holds, quorum or not.</summary>
    private static string LocalValue(EtcdMember member, string key) =>
        member.Server.Etcdctl("get", "--consistency=s", "--print-value-only", key).StdOut.Trim();

    [Test]
    public void Three_members_on_their_own_addresses_form_one_cluster_with_one_leader()
    {
        Assert.That(Cluster.Endpoints, Is.EqualTo("http://192.0.2.2:2379,http://192.0.2.3:2379,http://192.0.2.4:2379"));

        Cluster.EtcdctlAt([Cluster.Members[0].Endpoint], "put", "/k", "v1").EnsureSuccess();
        string read = Cluster.EtcdctlAt([Cluster.Members[2].Endpoint], "get", "--print-value-only", "/k").EnsureSuccess().StdOut.Trim();

        using JsonDocument list = JsonDocument.Parse(Cluster.Etcdctl("member", "list", "-w", "json").EnsureSuccess().StdOut);
        Assert.That(read, Is.EqualTo("v1"));
        Assert.That(list.RootElement.GetProperty("members").GetArrayLength(), Is.EqualTo(3));
        Assert.That(Cluster.Members.Select(m => m.Id).Distinct().Count(), Is.EqualTo(3));
        Assert.That(Cluster.WaitForLeader(), Is.AnyOf(Cluster.Members.ToArray()));
    }

    [Test]
    public async Task Killing_the_leader_elects_another_and_the_restarted_member_catches_up()
    {
        EtcdMember leader = Cluster.WaitForLeader();

        await Cluster.KillAsync(leader);
        EtcdMember next = Cluster.WaitForLeader();
        Cluster.Etcdctl("put", "/while-away", "written").EnsureSuccess();
        Assert.That(leader.ProcessId, Is.Null);
        Assert.That(next, Is.Not.SameAs(leader));

        await Cluster.RestartAsync(leader);
        Assert.That(Poll.Until(() => LocalValue(leader, "/while-away") == "written"), Is.True, "the restarted member did not catch up");
    }

    [Test]
    public void A_partitioned_leader_is_cut_from_its_peers_and_its_clients_until_healed()
    {
        EtcdMember leader = Cluster.WaitForLeader();
        EtcdMember other = Cluster.Members.First(m => m != leader);

        Cluster.Partition(leader);

        // Peers: the other two elect one of them and replicate without it; clients: it answers nobody on the switch.
        EtcdMember next = Cluster.WaitForLeader();
        Cluster.Etcdctl("put", "/during-partition", "written").EnsureSuccess();
        Assert.That(next, Is.Not.SameAs(leader));
        Assert.That(Cluster.IsHealthy(leader), Is.False);
        Assert.That(Cluster.IsHealthy(other), Is.True);
        Assert.That(leader.Namespace.Ping(OverlayCluster.SwitchAddress), Is.False);
        Assert.That(LocalValue(leader, "/during-partition"), Is.Empty, "a partitioned member got the write");

        Cluster.Heal(leader);
        Assert.That(Poll.Until(() => LocalValue(leader, "/during-partition") == "written", TimeSpan.FromSeconds(20)), Is.True, "the healed member did not catch up");
        Assert.That(Poll.Until(() => Cluster.IsHealthy(leader), TimeSpan.FromSeconds(20)), Is.True);
    }

    [Test]
    public void A_frozen_member_answers_nothing_until_continued_while_the_others_keep_a_quorum()
    {
        EtcdMember member = Cluster.Members[1];

        Cluster.Freeze(member);
        bool healthyWhileFrozen = Cluster.IsHealthy(member);
        CommandResult put = Cluster.Etcdctl("put", "/while-frozen", "written");
        Cluster.Continue(member);

        Assert.That(healthyWhileFrozen, Is.False);
        Assert.That(put.Succeeded, Is.True, put.StdErr);
        Assert.That(Poll.Until(() => Cluster.IsHealthy(member), TimeSpan.FromSeconds(20)), Is.True);
        Assert.That(Poll.Until(() => LocalValue(member, "/while-frozen") == "written"), Is.True);
    }

    [Test]
    public async Task Two_members_down_lose_the_quorum_and_bringing_them_back_together_restores_it()
    {
        EtcdMember survivor = Cluster.Members[0];

        await Task.WhenAll(Cluster.KillAsync(Cluster.Members[1]), Cluster.KillAsync(Cluster.Members[2]));
        Assert.That(Poll.Until(() => !Cluster.IsHealthy(survivor), TimeSpan.FromSeconds(20)), Is.True, "one member of three still had a quorum");
        Assert.That(Cluster.Leader(), Is.Null);

        await Task.WhenAll(Cluster.RestartAsync(Cluster.Members[1]), Cluster.RestartAsync(Cluster.Members[2]));
        Assert.That(Cluster.WaitForLeader(), Is.Not.Null);
        Assert.That(Cluster.IsHealthy(survivor), Is.True);
    }
}
