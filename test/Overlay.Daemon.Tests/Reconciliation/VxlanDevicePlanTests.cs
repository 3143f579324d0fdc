using System.Net;
using Overlay.Daemon.Device;
using Overlay.Netlink;

namespace Overlay.Daemon.Tests.Reconciliation;

public class VxlanDevicePlanTests
{
    private static readonly VxlanInfo Wanted = new(1, IPAddress.Parse("192.0.2.11"), 2, 8472);

    private static LinkInfo Vxlan(VxlanInfo info) => new(5, "flannel.1") { Kind = "vxlan", Vxlan = info };

    [Test]
    public void A_missing_device_is_created()
    {
        Assert.That(VxlanDevicePlan.Decide(null, Wanted).Action, Is.EqualTo(DeviceAction.Create));
    }

    [Test]
    public void A_compatible_device_such_as_flanneld_left_is_adopted()
    {
        Assert.That(VxlanDevicePlan.Decide(Vxlan(Wanted), Wanted).Action, Is.EqualTo(DeviceAction.Adopt));
    }

    [Test]
    public void A_device_that_differs_in_what_cannot_change_in_place_is_recreated_with_the_reasons()
    {
        DevicePlan plan = VxlanDevicePlan.Decide(Vxlan(Wanted with { Vni = 2, Port = 4789 }), Wanted);

        Assert.That(plan.Action, Is.EqualTo(DeviceAction.Recreate));
        Assert.That(plan.Reason, Does.Contain("VNI 2 != 1").And.Contain("port 4789 != 8472"));
    }

    [Test]
    public void A_device_of_another_kind_is_recreated()
    {
        Assert.That(VxlanDevicePlan.Decide(new LinkInfo(5, "flannel.1") { Kind = "bridge" }, Wanted).Action, Is.EqualTo(DeviceAction.Recreate));
    }
}
