using System.Globalization;
using Overlay.Netlink;

namespace Overlay.Daemon.Device;

public enum DeviceAction
{
    Create,

    /// <summary>A compatible device exists (e.g. flanneld's): keep it, so no packet is dropped.</summary>
    Adopt,

    /// <summary>A device of that name exists but differs in what cannot be changed in place.</summary>
    Recreate,
}

public sealed record DevicePlan(DeviceAction Action, string Reason);

/// <summary>Decides what to do with a VXLAN device, purely, from what the kernel has (names and MTUs: VxlanFamily).</summary>
public static class VxlanDevicePlan
{
    public static DevicePlan Decide(LinkInfo? existing, VxlanInfo wanted)
    {
        if (existing is null)
        {
            return new(DeviceAction.Create, "no such device");
        }

        if (existing.Kind != "vxlan" || existing.Vxlan is not { } have)
        {
            return new(DeviceAction.Recreate, $"{existing.Name} is a {existing.Kind ?? "non-vxlan"} device");
        }

        var differences = new List<string>();
        if (have.Vni != wanted.Vni)
        {
            differences.Add($"VNI {have.Vni} != {wanted.Vni}");
        }

        if (!Equals(have.Local, wanted.Local))
        {
            differences.Add($"local {have.Local?.ToString() ?? "none"} != {wanted.Local}");
        }

        if (have.UnderlayIndex != wanted.UnderlayIndex)
        {
            differences.Add($"underlay index {have.UnderlayIndex?.ToString(CultureInfo.InvariantCulture) ?? "none"} != {wanted.UnderlayIndex}");
        }

        if (have.Port != wanted.Port)
        {
            differences.Add($"port {have.Port} != {wanted.Port}");
        }

        if (have.Learning != wanted.Learning)
        {
            differences.Add($"learning {have.Learning} != {wanted.Learning}");
        }

        if (have.Gbp != wanted.Gbp)
        {
            differences.Add($"GBP {have.Gbp} != {wanted.Gbp}");
        }

        return differences.Count == 0
            ? new(DeviceAction.Adopt, "an existing compatible device")
            : new(DeviceAction.Recreate, string.Join(", ", differences));
    }
}
