using System.Net;
using Overlay.Daemon.Reconciliation;
using Overlay.Netlink;
using Overlay.Reconciliation;

namespace Overlay.Daemon.Tests.Reconciliation;

public class KernelEventFilterTests
{
    private static readonly MacAddress Mac = MacAddress.Parse("0e:00:00:00:00:02");

    /// <summary>flannel.1 (device 7) for 198.18.0.0/16 and flannel-v6.1 (device 8) for 2001:db8:100::/48.</summary>
    private static readonly VxlanFamily IPv4 = VxlanFamily.IPv4(DualStackDesiredStateTests.Config) with { DeviceIndex = 7 };
    private static readonly VxlanFamily IPv6 = VxlanFamily.IPv6(DualStackDesiredStateTests.Config) with { DeviceIndex = 8 };

    private static KernelEventMeaning Classify(NetlinkEvent change) => KernelEventFilter.Classify(change, [IPv4]);

    [Test]
    public void Deleting_an_entry_on_the_device_calls_for_a_repair()
    {
        Assert.That(Classify(new RouteEvent(true, RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.0"), 7, true))), Is.EqualTo(KernelEventMeaning.Repair));
        Assert.That(Classify(new NeighbourEvent(true, new NeighbourEntry(7, IPAddress.Parse("198.18.2.0"), Mac))), Is.EqualTo(KernelEventMeaning.Repair));
        Assert.That(Classify(new FdbEvent(true, new FdbEntry(7, Mac, IPAddress.Parse("192.0.2.12")))), Is.EqualTo(KernelEventMeaning.Repair));
    }

    [Test]
    public void Overlayds_own_additions_do_not_trigger_another_reconcile()
    {
        Assert.That(Classify(new RouteEvent(false, RouteEntry.ViaGateway(IPNetwork.Parse("198.18.2.0/24"), IPAddress.Parse("198.18.2.0"), 7, true))), Is.EqualTo(KernelEventMeaning.Ignore));
        Assert.That(Classify(new NeighbourEvent(false, new NeighbourEntry(7, IPAddress.Parse("198.18.2.0"), Mac))), Is.EqualTo(KernelEventMeaning.Ignore));
    }

    [Test]
    public void Changes_elsewhere_are_ignored()
    {
        Assert.That(Classify(new NeighbourEvent(true, new NeighbourEntry(3, IPAddress.Parse("192.0.2.1"), Mac))), Is.EqualTo(KernelEventMeaning.Ignore));
        Assert.That(Classify(new RouteEvent(true, RouteEntry.ViaGateway(IPNetwork.Parse("203.0.113.0/24"), IPAddress.Parse("192.0.2.1"), 2))), Is.EqualTo(KernelEventMeaning.Ignore));
        Assert.That(Classify(new LinkEvent(true, new LinkInfo(3, "eth1"))), Is.EqualTo(KernelEventMeaning.Ignore));
    }

    [Test]
    public void Anything_happening_to_the_device_means_checking_the_device()
    {
        Assert.That(Classify(new LinkEvent(true, new LinkInfo(7, "flannel.1"))), Is.EqualTo(KernelEventMeaning.Device));
        Assert.That(Classify(new LinkEvent(false, new LinkInfo(9, "flannel.1"))), Is.EqualTo(KernelEventMeaning.Device), "recreated under a new index");
        Assert.That(Classify(new AddressEvent(true, new AddressEntry(7, IPAddress.Parse("198.18.1.0"), 32))), Is.EqualTo(KernelEventMeaning.Device));
    }

    [Test]
    public void Lost_events_mean_a_full_resync()
    {
        Assert.That(Classify(new ResyncNeeded("ENOBUFS")), Is.EqualTo(KernelEventMeaning.Resync));
    }

    [Test]
    public void In_dual_stack_deleting_an_entry_on_the_IPv6_device_or_the_device_itself_is_noticed()
    {
        KernelEventMeaning Dual(NetlinkEvent change) => KernelEventFilter.Classify(change, [IPv4, IPv6]);

        Assert.That(Dual(new RouteEvent(true, RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:2::/64"), IPAddress.Parse("2001:db8:100:2::"), 8, true))), Is.EqualTo(KernelEventMeaning.Repair));
        Assert.That(Dual(new NeighbourEvent(true, new NeighbourEntry(8, IPAddress.Parse("2001:db8:100:2::"), Mac))), Is.EqualTo(KernelEventMeaning.Repair));
        Assert.That(Dual(new FdbEvent(true, new FdbEntry(8, Mac, IPAddress.Parse("2001:db8:1::12")))), Is.EqualTo(KernelEventMeaning.Repair));
        Assert.That(Dual(new LinkEvent(true, new LinkInfo(8, "flannel-v6.1"))), Is.EqualTo(KernelEventMeaning.Device));
        Assert.That(Dual(new AddressEvent(true, new AddressEntry(8, IPAddress.Parse("2001:db8:100:1::"), 128))), Is.EqualTo(KernelEventMeaning.Device));
        Assert.That(Dual(new RouteEvent(false, RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:2::/64"), IPAddress.Parse("2001:db8:100:2::"), 8, true))), Is.EqualTo(KernelEventMeaning.Ignore));
        Assert.That(Classify(new RouteEvent(true, RouteEntry.ViaGateway(IPNetwork.Parse("2001:db8:100:2::/64"), IPAddress.Parse("2001:db8:100:2::"), 8, true))), Is.EqualTo(KernelEventMeaning.Ignore), "IPv4 only: not watched");
    }
}
