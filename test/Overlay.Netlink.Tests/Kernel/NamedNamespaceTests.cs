using System.Diagnostics;
using Overlay.TestKit;

namespace Overlay.Netlink.Tests.Kernel;

/// <summary>Named namespaces created and deleted natively; iproute2 (`ip netns list/exec/add`) is the oracle.</summary>
public sealed class NamedNamespaceTests
{
    private NetworkLab lab = null!;
    private string name = "";

    [SetUp]
    public void CreateLab()
    {
        lab = NetworkLab.Create();
        // The lab's prefix carries our pid, so a leftover of a killed run is swept by the next lab.
        name = lab.Prefix + "-named";
    }

    [TearDown]
    public void DeleteLeftovers()
    {
        if (NetworkLab.ListNamespaceNames().Contains(name))
        {
            Shell.Run("ip", "netns", "delete", name);
        }

        lab.Dispose();
    }

    [Test]
    public void A_created_namespace_is_listed_by_ip_and_holds_only_a_down_loopback()
    {
        string path = NamedNetworkNamespace.Create(name);

        Assert.That(path, Is.EqualTo("/run/netns/" + name));
        Assert.That(NetworkLab.ListNamespaceNames(), Does.Contain(name));
        CommandResult links = Shell.Run("ip", "-n", name, "-o", "link", "show").EnsureSuccess();
        Assert.That(links.StdOut.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(links.StdOut, Does.Contain("lo: <LOOPBACK>"));
        Assert.That(NamespaceInode(["ip", "netns", "exec", name]), Is.Not.EqualTo(NamespaceInode([])));
    }

    [Test]
    public void The_namespace_lives_on_without_a_process_and_ip_netns_exec_enters_the_same_one()
    {
        NamedNetworkNamespace.Create(name);
        Shell.Run("ip", "-n", name, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1").EnsureSuccess();

        Assert.That(Shell.Run("ip", "netns", "exec", name, "ip", "link", "show", "probe0").ExitCode, Is.Zero);
        Assert.That(Shell.Run("ip", "link", "show", "probe0").ExitCode, Is.Not.Zero);
    }

    [Test]
    public void Creating_a_taken_name_fails_with_EEXIST_and_leaves_the_namespace_alone()
    {
        NamedNetworkNamespace.Create(name);
        Shell.Run("ip", "-n", name, "link", "add", "probe0", "type", "veth", "peer", "name", "probe1").EnsureSuccess();

        var error = Assert.Throws<IOException>(() => NamedNetworkNamespace.Create(name));

        Assert.That(error!.Message, Does.StartWith($"create /run/netns/{name}: EEXIST"));
        Assert.That(Shell.Run("ip", "-n", name, "link", "show", "probe0").ExitCode, Is.Zero);
    }

    [Test]
    public void Delete_removes_the_namespace_and_a_second_delete_finds_nothing()
    {
        NamedNetworkNamespace.Create(name);

        Assert.That(NamedNetworkNamespace.Delete(name), Is.True);

        Assert.That(NetworkLab.ListNamespaceNames(), Does.Not.Contain(name));
        Assert.That(File.Exists("/run/netns/" + name), Is.False);
        Assert.That(NamedNetworkNamespace.Delete(name), Is.False);
    }

    [Test]
    public void A_namespace_made_by_ip_netns_add_is_deleted_too()
    {
        Shell.Run("ip", "netns", "add", name).EnsureSuccess();

        Assert.That(NamedNetworkNamespace.Exists(name), Is.True);
        Assert.That(NamedNetworkNamespace.Delete(name), Is.True);
        Assert.That(NetworkLab.ListNamespaceNames(), Does.Not.Contain(name));
    }

    [Test]
    public void A_process_started_inside_Run_is_in_that_namespace_and_the_caller_is_not()
    {
        NamedNetworkNamespace.Create(name);
        string before = File.ResolveLinkTarget("/proc/thread-self/ns/net", false)!.ToString();

        using Process readlink = NamedNetworkNamespace.Run(name, () => Process.Start(new ProcessStartInfo("readlink", "/proc/self/ns/net") { RedirectStandardOutput = true })!);
        string inside = readlink.StandardOutput.ReadToEnd().Trim();
        readlink.WaitForExit();

        Assert.That(inside, Is.EqualTo(NamespaceInode(["ip", "netns", "exec", name])));
        Assert.That(inside, Is.Not.EqualTo(before));
        Assert.That(File.ResolveLinkTarget("/proc/thread-self/ns/net", false)!.ToString(), Is.EqualTo(before));
    }

    [Test]
    public void Running_in_a_missing_namespace_fails_with_ENOENT()
    {
        var error = Assert.Throws<IOException>(() => NamedNetworkNamespace.Run(name, () => 0));

        Assert.That(error!.Message, Is.EqualTo($"enter network namespace /run/netns/{name}: ENOENT (No such file or directory)"));
    }

    [TestCase("a/b")]
    [TestCase("..")]
    public void A_name_with_a_slash_is_refused(string bad)
    {
        Assert.Throws<ArgumentException>(() => NamedNetworkNamespace.Create(bad));
    }

    private static string NamespaceInode(string[] prefix)
    {
        string[] argv = [.. prefix, "readlink", "/proc/self/ns/net"];
        return Shell.Run(argv[0], argv[1..]).EnsureSuccess().StdOut.Trim();
    }
}
