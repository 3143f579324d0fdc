using System.Globalization;
using System.Net;
using System.Net.Sockets;
using NUnit.Framework;

namespace Overlay.Netlink.Tests.Kernel;

public class BatchTests : NamespaceFixture
{
    private static (RouteEntry Route, NeighbourEntry Neighbour, FdbEntry Fdb) Peer(int linkIndex, int n)
    {
        // Peer n owns 100.64.n.0/24 (n < 256 here) and sits at 203.0.113.n on the underlay.
        var subnetAddress = IPAddress.Parse($"100.64.{n}.0");
        var mac = MacAddress.Parse($"0e:4a:00:00:{n >> 8:x2}:{n & 0xff:x2}");
        return (
            RouteEntry.ViaGateway(new IPNetwork(subnetAddress, 24), subnetAddress, linkIndex, onLink: true),
            new NeighbourEntry(linkIndex, subnetAddress, mac),
            new FdbEntry(linkIndex, mac, IPAddress.Parse(string.Create(CultureInfo.InvariantCulture, $"203.0.113.{n % 250 + 1}"))));
    }

    [Test]
    public void A_batch_larger_than_one_send_programs_every_peer_and_reports_every_item()
    {
        LinkInfo link = CreateFlannelDevice();
        var batch = new NetlinkBatch();
        for (int n = 0; n < 250; n++)
        {
            var (route, neighbour, fdb) = Peer(link.Index, n);
            batch.Replace(route).Replace(neighbour).Replace(fdb);
        }

        BatchResult result = Handle.Apply(batch);

        Assert.That(result, Has.Count.EqualTo(750));
        Assert.That(result.AllSucceeded, Is.True, () => string.Join("\n", result.Failures.Select(f => f.Error!.Message)));
        Assert.That(Ns.IpJson("route", "show", "dev", "flannel.1").GetArrayLength(), Is.EqualTo(250));
        Assert.That(Ns.IpJson("-4", "neigh", "show", "dev", "flannel.1").GetArrayLength(), Is.EqualTo(250));
        Assert.That(Ns.BridgeJson("fdb", "show", "dev", "flannel.1").GetArrayLength(), Is.EqualTo(250));
        Assert.That(Handle.ListRoutes(interfaceIndex: link.Index, family: AddressFamily.InterNetwork),
            Is.EquivalentTo(batch.Where(c => c.Entry is RouteEntry).Select(c => c.Entry)));
        Assert.That(Handle.ListFdb(link.Index), Is.EquivalentTo(batch.Where(c => c.Entry is FdbEntry).Select(c => c.Entry)));
    }

    [Test]
    public void A_batch_of_deletes_removes_route_neighbour_and_fdb_entry()
    {
        LinkInfo link = CreateFlannelDevice();
        var (route, neighbour, fdb) = Peer(link.Index, 7);
        Handle.Apply(new NetlinkBatch().Replace(route).Replace(neighbour).Replace(fdb)).ThrowIfAnyFailed();

        BatchResult result = Handle.Apply(new NetlinkBatch().Delete(route).Delete(neighbour).Delete(fdb));

        Assert.That(result.AllSucceeded, Is.True);
        Assert.That(Ns.IpJson("route", "show", "dev", "flannel.1").GetArrayLength(), Is.Zero);
        Assert.That(Ns.IpJson("-4", "neigh", "show", "dev", "flannel.1").GetArrayLength(), Is.Zero);
        Assert.That(Ns.BridgeJson("fdb", "show", "dev", "flannel.1").GetArrayLength(), Is.Zero);
    }

    [Test]
    public void One_failing_item_neither_hides_the_other_failures_nor_stops_the_rest()
    {
        LinkInfo link = CreateFlannelDevice();
        var (route, neighbour, fdb) = Peer(link.Index, 1);
        var batch = new NetlinkBatch()
            .Replace(route)
            .Replace(route with { OnLink = false })              // gateway not on link: ENETUNREACH
            .Delete(new NeighbourEntry(link.Index, IPAddress.Parse("100.64.9.0"), null)) // missing: ENOENT
            .Replace(neighbour)
            .Replace(fdb);

        BatchResult result = Handle.Apply(batch);

        Assert.That(result.Select(r => r.Error?.ErrorName), Is.EqualTo(new[] { null, "ENETUNREACH", "ENOENT", null, null }));
        Assert.That(result[1].Error!.Operation, Is.EqualTo("replace route 100.64.1.0/24 via 100.64.1.0 dev flannel.1"));
        Assert.That(result[2].Error!.Operation, Is.EqualTo("delete neighbour 100.64.9.0 dev flannel.1"));
        Assert.That(result.Failures.Count(), Is.EqualTo(2));
        Assert.That(Ns.IpJson("-4", "neigh", "show", "dev", "flannel.1").GetArrayLength(), Is.EqualTo(1));
        Assert.That(Ns.BridgeJson("fdb", "show", "dev", "flannel.1").GetArrayLength(), Is.EqualTo(1));
        var aggregate = Assert.Throws<AggregateException>(result.ThrowIfAnyFailed);
        Assert.That(aggregate!.InnerExceptions, Has.Count.EqualTo(2));
    }

    [Test]
    public void An_empty_batch_sends_nothing_and_reports_nothing()
    {
        Assert.That(Handle.Apply(new NetlinkBatch()), Is.Empty);
    }

    [Test]
    public void Concurrent_callers_on_one_handle_each_get_their_own_answers()
    {
        LinkInfo link = CreateFlannelDevice();

        Parallel.For(0, 4, worker =>
        {
            for (int n = 0; n < 50; n++)
            {
                Handle.ReplaceNeighbour(new NeighbourEntry(link.Index, IPAddress.Parse($"100.64.{worker}.{n}"), MacAddress.Parse("0e:4a:00:00:00:02")));
                Assert.That(Handle.GetLink(link.Index)!.Name, Is.EqualTo("flannel.1"));
            }
        });

        Assert.That(Handle.ListNeighbours(link.Index, AddressFamily.InterNetwork), Has.Count.EqualTo(200));
    }
}
