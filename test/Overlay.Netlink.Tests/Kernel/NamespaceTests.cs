using NUnit.Framework;

namespace Overlay.Netlink.Tests.Kernel;

public class NamespaceTests : NamespaceFixture
{
    private static string ThreadNamespace() => File.ResolveLinkTarget("/proc/thread-self/ns/net", false)!.ToString();

    [Test]
    public void A_handle_opened_in_a_namespace_sees_that_namespace_and_leaves_the_caller_where_it_was()
    {
        string before = ThreadNamespace();

        using NetlinkHandle inside = NetlinkHandle.OpenInNamespace(Ns.Name);
        using NetlinkHandle here = NetlinkHandle.Open();

        Assert.That(ThreadNamespace(), Is.EqualTo(before));
        Assert.That(inside.ListLinks().Select(l => l.Name), Is.EquivalentTo(new[] { "lo", "under0", "under0p" }));
        Assert.That(here.GetLink("under0p"), Is.Null);
        Assert.That(inside.NamespacePath, Is.EqualTo("/run/netns/" + Ns.Name));
    }

    [Test]
    public void A_namespace_can_be_given_as_a_path()
    {
        using NetlinkHandle byPath = NetlinkHandle.OpenInNamespace(Ns.Path);

        Assert.That(byPath.GetLink("under0")!.Index, Is.EqualTo(UnderlayIndex));
    }

    [Test]
    public void Changes_through_a_namespace_handle_happen_in_that_namespace_only()
    {
        LinkInfo link = CreateFlannelDevice("nlt-only-here");

        using NetlinkHandle here = NetlinkHandle.Open();

        Assert.That(here.GetLink("nlt-only-here"), Is.Null);
        Assert.That(Ns.IpJson("link", "show", "dev", "nlt-only-here")[0].GetProperty("ifindex").GetInt32(), Is.EqualTo(link.Index));
    }

    [Test]
    public void Opening_a_missing_namespace_fails_with_ENOENT()
    {
        var error = Assert.Throws<NetlinkException>(() => NetlinkHandle.OpenInNamespace($"nlt{Environment.ProcessId}-missing"));

        Assert.That(error!.ErrorName, Is.EqualTo("ENOENT"));
        Assert.That(error.Operation, Does.Contain("/run/netns/nlt"));
    }

    [Test]
    public void A_disposed_handle_refuses_further_requests()
    {
        NetlinkHandle handle = NetlinkHandle.OpenInNamespace(Ns.Name);
        handle.Dispose();

        Assert.Throws<ObjectDisposedException>(() => handle.ListLinks());
    }
}
