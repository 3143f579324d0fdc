using System.Net;
using NUnit.Framework;
using Overlay.TestKit;

namespace Overlay.Netlink.Tests.Kernel;

/// <summary>
/// Each test gets a fresh namespace with an underlay device under0 (192.0.2.1/24, up) and a handle bound to it; the lab
/// deletes the namespace in teardown, also when the test failed. `ip -j` / `bridge -j` is the oracle.
/// </summary>
public abstract class NamespaceFixture
{
    protected static readonly IPAddress UnderlayAddress = IPAddress.Parse("192.0.2.1");

    private NetworkLab? _lab;
    private NetlinkHandle? _handle;

    protected NetNs Ns { get; private set; } = null!;

    protected NetlinkHandle Handle => _handle!;

    protected int UnderlayIndex { get; private set; }

    [SetUp]
    public void CreateNamespace()
    {
        _lab = NetworkLab.Create();
        Ns = _lab.AddNamespace("nl");
        // A veth pair rather than a dummy: it has carrier once both ends are up and needs no extra module.
        Ns.ExecChecked("ip", "link", "add", "under0", "type", "veth", "peer", "name", "under0p");
        Ns.AddAddress("under0", "192.0.2.1/24");
        Ns.SetUp("under0p");
        Ns.SetUp("under0");
        _handle = NetlinkHandle.OpenInNamespace(Ns.Name);
        UnderlayIndex = IndexOf("under0");
    }

    [TearDown]
    public void DeleteNamespace()
    {
        _handle?.Dispose();
        _lab?.Dispose();
    }

    protected int IndexOf(string device) => Ns.IpJson("link", "show", "dev", device)[0].GetProperty("ifindex").GetInt32();

    /// <summary>flannel's device: vxlan VNI 1 on the underlay, port 8472, learning off, up.</summary>
    protected LinkInfo CreateFlannelDevice(string name = "flannel.1")
    {
        LinkInfo link = Handle.CreateVxlan(new VxlanLinkSpec(name, new VxlanInfo(1, UnderlayAddress, UnderlayIndex)) { Mtu = 1450 });
        Handle.SetLinkUp(link.Index);
        return link;
    }
}
