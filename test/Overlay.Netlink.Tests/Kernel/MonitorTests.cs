using System.Net;
using NUnit.Framework;

namespace Overlay.Netlink.Tests.Kernel;

public class MonitorTests : NamespaceFixture
{
    private static async Task<List<NetlinkEvent>> CollectUntil(NetlinkMonitor monitor, Func<List<NetlinkEvent>, bool> done)
    {
        var seen = new List<NetlinkEvent>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await foreach (NetlinkEvent e in monitor.ReadAllAsync(timeout.Token))
            {
                seen.Add(e);
                if (done(seen)) break;
            }
        }
        catch (OperationCanceledException)
        {
            // The assertions below say what was missing.
        }
        return seen;
    }

    [Test]
    public async Task The_monitor_decodes_link_address_route_neighbour_and_fdb_events()
    {
        using NetlinkMonitor monitor = NetlinkMonitor.Start(NetlinkGroups.All, Ns.Name);
        LinkInfo link = CreateFlannelDevice();
        var route = RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.0"), link.Index, onLink: true);
        var neighbour = new NeighbourEntry(link.Index, IPAddress.Parse("198.18.2.0"), MacAddress.Parse("0e:4a:00:00:00:02"));
        var fdb = new FdbEntry(link.Index, MacAddress.Parse("0e:4a:00:00:00:02"), IPAddress.Parse("203.0.113.2"));
        Handle.AddAddress(new AddressEntry(link.Index, IPAddress.Parse("198.18.1.0"), 32));
        Handle.Apply(new NetlinkBatch().Replace(route).Replace(neighbour).Replace(fdb)).ThrowIfAnyFailed();
        Handle.DeleteRoute(route);

        List<NetlinkEvent> seen = await CollectUntil(monitor, s => s.Any(e => e is RouteEvent { Deleted: true }));

        Assert.That(seen.OfType<LinkEvent>().Any(e => e.Link.Name == "flannel.1" && e.Link.Vxlan?.Vni == 1), Is.True);
        Assert.That(seen.OfType<AddressEvent>().Any(e => e.Address.Address.Equals(IPAddress.Parse("198.18.1.0"))), Is.True);
        Assert.That(seen.OfType<RouteEvent>().Where(e => e.Route == route).Select(e => e.Deleted), Is.EqualTo(new[] { false, true }));
        Assert.That(seen.OfType<NeighbourEvent>().Any(e => e.Neighbour == neighbour && !e.Deleted), Is.True);
        Assert.That(seen.OfType<FdbEvent>().Any(e => e.Entry == fdb && !e.Deleted), Is.True);
        Assert.That(seen.OfType<ResyncNeeded>(), Is.Empty);
    }

    [Test]
    public async Task The_monitor_reports_deletions_on_an_ipv6_vxlan_device()
    {
        using NetlinkMonitor monitor = NetlinkMonitor.Start(NetlinkGroups.All, Ns.Name);
        Ns.AddAddress("under0", "2001:db8:1::11/64");
        LinkInfo link = Handle.CreateVxlan(new VxlanLinkSpec("flannel-v6.1", new VxlanInfo(1, IPAddress.Parse("2001:db8:1::11"), UnderlayIndex)));
        Handle.SetLinkUp(link.Index);
        var route = RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:2::/64"), IPAddress.Parse("2001:db8:100:2::"), link.Index, onLink: true);
        var neighbour = new NeighbourEntry(link.Index, IPAddress.Parse("2001:db8:100:2::"), MacAddress.Parse("0e:4a:00:00:00:02"));
        var fdb = new FdbEntry(link.Index, MacAddress.Parse("0e:4a:00:00:00:02"), IPAddress.Parse("2001:db8:1::12"));
        var address = new AddressEntry(link.Index, IPAddress.Parse("2001:db8:100:1::"), 128);
        Handle.AddAddress(address);
        Handle.Apply(new NetlinkBatch().Replace(neighbour).Replace(fdb).Replace(route)).ThrowIfAnyFailed();
        Handle.Apply(new NetlinkBatch().Delete(route).Delete(neighbour).Delete(fdb).Delete(address)).ThrowIfAnyFailed();

        List<NetlinkEvent> seen = await CollectUntil(monitor, s => s.Any(e => e is AddressEvent { Deleted: true }));

        Assert.That(seen.OfType<LinkEvent>().Any(e => e.Link.Name == "flannel-v6.1" && Equals(e.Link.Vxlan?.Local, IPAddress.Parse("2001:db8:1::11"))), Is.True);
        Assert.That(seen.OfType<RouteEvent>().Where(e => e.Route with { Metric = 0 } == route).Select(e => e.Deleted), Is.EqualTo(new[] { false, true }));
        Assert.That(seen.OfType<NeighbourEvent>().Where(e => e.Deleted).Select(e => e.Neighbour.Address), Does.Contain(neighbour.Address));
        Assert.That(seen.OfType<FdbEvent>().Where(e => e.Deleted).Select(e => e.Entry.Destination), Does.Contain(fdb.Destination));
        Assert.That(seen.OfType<AddressEvent>().Where(e => e.Deleted).Select(e => e.Address.Address), Does.Contain(address.Address));
    }

    [Test]
    public async Task A_receive_overrun_is_reported_as_resync_needed_and_the_monitor_keeps_going()
    {
        LinkInfo link = CreateFlannelDevice();
        // A tiny receive buffer and a burst of notifications from one batch force ENOBUFS.
        using NetlinkMonitor monitor = NetlinkMonitor.Start(NetlinkGroups.Neighbour, Ns.Name, receiveBuffer: 4096);
        var burst = new NetlinkBatch();
        for (int n = 0; n < 400; n++)
        {
            burst.Replace(new NeighbourEntry(link.Index, IPAddress.Parse($"100.64.{n / 256}.{n % 256}"), MacAddress.Parse("0e:4a:00:00:00:02")));
        }
        Handle.Apply(burst).ThrowIfAnyFailed();
        List<NetlinkEvent> first = await CollectUntil(monitor, s => s.Any(e => e is ResyncNeeded));

        var late = new NeighbourEntry(link.Index, IPAddress.Parse("100.64.200.1"), MacAddress.Parse("0e:4a:00:00:00:03"));
        Handle.ReplaceNeighbour(late);
        List<NetlinkEvent> after = await CollectUntil(monitor, s => s.Any(e => e is NeighbourEvent n && n.Neighbour == late));

        Assert.That(first.OfType<ResyncNeeded>().First().Reason, Does.Contain("ENOBUFS"));
        Assert.That(after.OfType<NeighbourEvent>().Any(n => n.Neighbour == late), Is.True);
    }

    [Test]
    public async Task Disposing_the_monitor_completes_the_event_stream()
    {
        NetlinkMonitor monitor = NetlinkMonitor.Start(NetlinkGroups.Link, Ns.Name);

        monitor.Dispose();

        Assert.That(await monitor.Events.Completion.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(t => t.IsCompletedSuccessfully), Is.True);
    }
}
