using System.Net;
using System.Text.Json;
using NUnit.Framework;

namespace Overlay.Netlink.Tests.Kernel;

public class NeighbourAndFdbTests : NamespaceFixture
{
    private static readonly MacAddress VtepMac = MacAddress.Parse("0e:4a:00:00:00:02");

    [Test]
    public void Replacing_a_permanent_neighbour_is_seen_by_ip_and_listed()
    {
        LinkInfo link = CreateFlannelDevice();
        var neighbour = new NeighbourEntry(link.Index, IPAddress.Parse("198.18.2.0"), VtepMac);

        Handle.ReplaceNeighbour(neighbour);
        Handle.ReplaceNeighbour(neighbour);

        JsonElement[] byIp = Ns.IpJson("neigh", "show", "dev", "flannel.1").EnumerateArray().ToArray();
        Assert.That(byIp, Has.Length.EqualTo(1));
        Assert.That(byIp[0].GetProperty("dst").GetString(), Is.EqualTo("198.18.2.0"));
        Assert.That(byIp[0].GetProperty("lladdr").GetString(), Is.EqualTo("0e:4a:00:00:00:02"));
        Assert.That(byIp[0].GetProperty("state").EnumerateArray().Select(s => s.GetString()), Is.EqualTo(new[] { "PERMANENT" }));
        Assert.That(Handle.ListNeighbours(link.Index, System.Net.Sockets.AddressFamily.InterNetwork), Is.EqualTo(new[] { neighbour }));
    }

    [Test]
    public void Replacing_a_neighbour_with_a_new_mac_updates_it_and_delete_removes_it()
    {
        LinkInfo link = CreateFlannelDevice();
        var neighbour = new NeighbourEntry(link.Index, IPAddress.Parse("2001:db8:2::"), VtepMac);
        Handle.ReplaceNeighbour(neighbour);

        Handle.ReplaceNeighbour(neighbour with { Mac = MacAddress.Parse("0e:4a:00:00:00:03") });
        string updated = Ns.IpJson("neigh", "show", "dev", "flannel.1")[0].GetProperty("lladdr").GetString()!;
        Handle.DeleteNeighbour(neighbour);

        Assert.That(updated, Is.EqualTo("0e:4a:00:00:00:03"));
        Assert.That(Ns.IpJson("neigh", "show", "dev", "flannel.1").GetArrayLength(), Is.Zero);
        Assert.That(Handle.ListNeighbours(link.Index).Where(n => n.State == NeighbourState.Permanent), Is.Empty);
    }

    [Test]
    public void Replacing_an_fdb_entry_is_seen_by_bridge_and_listed()
    {
        LinkInfo link = CreateFlannelDevice();
        var entry = new FdbEntry(link.Index, VtepMac, IPAddress.Parse("203.0.113.2"));

        Handle.ReplaceFdb(entry);
        Handle.ReplaceFdb(entry);

        JsonElement[] byBridge = Ns.BridgeJson("fdb", "show", "dev", "flannel.1").EnumerateArray().ToArray();
        Assert.That(byBridge, Has.Length.EqualTo(1));
        Assert.That(byBridge[0].GetProperty("mac").GetString(), Is.EqualTo("0e:4a:00:00:00:02"));
        Assert.That(byBridge[0].GetProperty("dst").GetString(), Is.EqualTo("203.0.113.2"));
        Assert.That(byBridge[0].GetProperty("state").GetString(), Is.EqualTo("permanent"));
        Assert.That(byBridge[0].GetProperty("flags").EnumerateArray().Select(f => f.GetString()), Does.Contain("self"));
        Assert.That(Handle.ListFdb(link.Index), Is.EqualTo(new[] { entry }));
    }

    [Test]
    public void Appending_fdb_destinations_keeps_both_and_delete_removes_one()
    {
        LinkInfo link = CreateFlannelDevice();
        var zero = MacAddress.Zero;
        var first = new FdbEntry(link.Index, zero, IPAddress.Parse("203.0.113.2"));
        var second = new FdbEntry(link.Index, zero, IPAddress.Parse("203.0.113.3"));

        Handle.AppendFdb(first);
        Handle.AppendFdb(second);
        string[] both = Ns.BridgeJson("fdb", "show", "dev", "flannel.1").EnumerateArray().Select(e => e.GetProperty("dst").GetString()!).ToArray();
        Handle.DeleteFdb(first);

        Assert.That(both, Is.EquivalentTo(new[] { "203.0.113.2", "203.0.113.3" }));
        Assert.That(Handle.ListFdb(link.Index), Is.EqualTo(new[] { second }));
    }

    [Test]
    public void An_fdb_entry_with_an_ipv6_destination_is_programmed_on_an_ipv6_vxlan_device()
    {
        Ns.AddAddress("under0", "2001:db8::1/64");
        LinkInfo link = Handle.CreateVxlan(new VxlanLinkSpec("flannel-v6.1", new VxlanInfo(1, IPAddress.Parse("2001:db8::1"), UnderlayIndex)));

        Handle.ReplaceFdb(new FdbEntry(link.Index, VtepMac, IPAddress.Parse("2001:db8::2")));

        Assert.That(Ns.BridgeJson("fdb", "show", "dev", "flannel-v6.1")[0].GetProperty("dst").GetString(), Is.EqualTo("2001:db8::2"));
    }

    /// <summary>flannel's dual-stack recipe on flannel-v6.1, read back through netlink as the reconciler reads it.</summary>
    [Test]
    public void The_ipv6_neighbour_fdb_entry_and_onlink_route_of_a_peer_list_back_as_written_and_delete()
    {
        Ns.AddAddress("under0", "2001:db8:1::11/64");
        LinkInfo link = Handle.CreateVxlan(new VxlanLinkSpec("flannel-v6.1", new VxlanInfo(1, IPAddress.Parse("2001:db8:1::11"), UnderlayIndex)) { Mtu = 1430 });
        Handle.SetLinkUp(link.Index);
        var neighbour = new NeighbourEntry(link.Index, IPAddress.Parse("2001:db8:100:2::"), VtepMac);
        var fdb = new FdbEntry(link.Index, VtepMac, IPAddress.Parse("2001:db8:1::12"));
        var route = RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:2::/64"), IPAddress.Parse("2001:db8:100:2::"), link.Index, onLink: true);

        Handle.Apply(new NetlinkBatch().Replace(neighbour).Replace(fdb).Replace(route)).ThrowIfAnyFailed();

        Assert.That(Handle.ListNeighbours(link.Index, System.Net.Sockets.AddressFamily.InterNetworkV6).Where(n => n.State == NeighbourState.Permanent), Is.EqualTo(new[] { neighbour }));
        Assert.That(Handle.ListFdb(link.Index).Where(f => f.Destination is not null), Is.EqualTo(new[] { fdb }));
        RouteEntry listed = Handle.ListRoutes(family: System.Net.Sockets.AddressFamily.InterNetworkV6).Single(r => r.Destination == route.Destination);
        Assert.That(listed with { Metric = 0 }, Is.EqualTo(route));
        Assert.That(Ns.IpJson("-6", "route", "show", "2001:db8:100:2::/64")[0].GetProperty("flags").EnumerateArray().Select(f => f.GetString()), Does.Contain("onlink"));

        Handle.Apply(new NetlinkBatch().Delete(route).Delete(neighbour).Delete(fdb)).ThrowIfAnyFailed();

        Assert.That(Ns.IpJson("-6", "route", "show", "dev", "flannel-v6.1").EnumerateArray().Where(r => r.TryGetProperty("gateway", out _)), Is.Empty);
        Assert.That(Ns.IpJson("-6", "neigh", "show", "dev", "flannel-v6.1").EnumerateArray().Where(n => n.TryGetProperty("lladdr", out _)), Is.Empty);
        Assert.That(Ns.BridgeJson("fdb", "show", "dev", "flannel-v6.1").EnumerateArray().Where(f => f.TryGetProperty("dst", out _)), Is.Empty);
    }

    /// <summary>`bridge fdb ... permanent` sets NUD_NOARP as well; netlink reports both (flannel's and overlayd's own are PERMANENT only).</summary>
    [Test]
    public void An_ipv6_fdb_entry_added_with_bridge_is_listed_with_its_destination_and_the_state_bridge_gave_it()
    {
        Ns.AddAddress("under0", "2001:db8:1::11/64");
        LinkInfo link = Handle.CreateVxlan(new VxlanLinkSpec("flannel-v6.1", new VxlanInfo(1, IPAddress.Parse("2001:db8:1::11"), UnderlayIndex)));
        Handle.SetLinkUp(link.Index);
        Ns.ExecChecked("bridge", "fdb", "replace", "0e:06:00:00:00:99", "dev", "flannel-v6.1", "dst", "2001:db8:1::99", "self", "permanent");

        Assert.That(Handle.ListFdb(link.Index).Where(f => f.Destination is not null),
            Is.EqualTo(new[] { new FdbEntry(link.Index, MacAddress.Parse("0e:06:00:00:00:99"), IPAddress.Parse("2001:db8:1::99")) { State = NeighbourState.Permanent | NeighbourState.NoArp } }));
    }

    [Test]
    public void Deleting_a_missing_neighbour_fails_with_ENOENT_naming_the_device()
    {
        LinkInfo link = CreateFlannelDevice();

        var error = Assert.Throws<NetlinkException>(() => Handle.DeleteNeighbour(new NeighbourEntry(link.Index, IPAddress.Parse("198.18.9.0"), null)));

        Assert.That(error!.ErrorName, Is.EqualTo("ENOENT"));
        Assert.That(error.Operation, Is.EqualTo("delete neighbour 198.18.9.0 dev flannel.1"));
    }
}
