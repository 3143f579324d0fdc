using System.Globalization;
using NUnit.Framework;
using Overlay.TestKit;

namespace Overlay.TestKit.Tests;

public class NetworkLabTests
{
    private NetworkLab lab = null!;

    [SetUp]
    public void CreateLab()
    {
        Root.Require();
        lab = NetworkLab.Create();
    }

    [TearDown]
    public void DisposeLab() => lab?.Dispose();

    [Test]
    public void A_veth_pair_between_two_namespaces_carries_a_ping()
    {
        var a = lab.AddNamespace("a");
        var b = lab.AddNamespace("b");
        var (vethA, vethB) = lab.AddVethPair(a, b);
        a.AddAddress(vethA, "192.0.2.1/24");
        b.AddAddress(vethB, "192.0.2.2/24");

        Assert.That(a.Ping("192.0.2.2"), Is.True);
        Assert.That(b.Ping("192.0.2.1"), Is.True);
        Assert.That(a.Ping("192.0.2.3", timeoutSeconds: 0.3), Is.False, "nobody has .3, so the ping must fail");
    }

    [Test]
    public void A_bridge_in_a_switch_namespace_connects_two_node_namespaces()
    {
        var sw = lab.AddNamespace("switch");
        var node1 = lab.AddNamespace("node1");
        var node2 = lab.AddNamespace("node2");
        var bridge = lab.AddBridge(sw, "br0");
        var (port1, eth1) = lab.AddVethPair(sw, node1, "port1", "eth0");
        var (port2, eth2) = lab.AddVethPair(sw, node2, "port2", "eth0");
        lab.AttachToBridge(sw, port1, bridge);
        lab.AttachToBridge(sw, port2, bridge);
        node1.AddAddress(eth1, "198.51.100.1/24");
        node2.AddAddress(eth2, "198.51.100.2/24");

        Assert.That(node1.Ping("198.51.100.2"), Is.True);
        var members = sw.BridgeJson("link", "show")
            .EnumerateArray()
            .Where(link => link.TryGetProperty("master", out var master) && master.GetString() == bridge)
            .Select(link => link.GetProperty("ifname").GetString())
            .ToArray();
        Assert.That(members, Is.EquivalentTo(new[] { port1, port2 }));
    }

    [Test]
    public void IPv6_addresses_are_usable_at_once_between_namespaces()
    {
        var a = lab.AddNamespace("a");
        var b = lab.AddNamespace("b");
        var (vethA, vethB) = lab.AddVethPair(a, b);
        a.AddAddress(vethA, "2001:db8::1/64");
        b.AddAddress(vethB, "2001:db8::2/64");

        Assert.That(a.Ping("2001:db8::2"), Is.True);
    }

    [Test]
    public void IpJson_shows_what_was_configured_in_the_namespace()
    {
        var ns = lab.AddNamespace("json");
        var (veth, _) = lab.AddVethPair(ns, ns, "inner0", "inner1");
        ns.AddAddress(veth, "203.0.113.7/24");

        var link = ns.IpJson("addr", "show", "dev", veth).EnumerateArray().Single();
        var addresses = link.GetProperty("addr_info").EnumerateArray()
            .Select(a => $"{a.GetProperty("local").GetString()}/{a.GetProperty("prefixlen").GetInt32()}");

        Assert.That(addresses, Does.Contain("203.0.113.7/24"));
        Assert.That(link.GetProperty("operstate").GetString(), Is.EqualTo("UP"));
        Assert.That(ns.IpJson("link", "show", "lo").EnumerateArray().Single().GetProperty("flags").EnumerateArray().Select(f => f.GetString()),
            Does.Contain("UP"), "lo is brought up with the namespace");
    }

    [Test]
    public void Namespaces_are_named_after_the_lab_prefix_and_role()
    {
        var ns = lab.AddNamespace("node1");

        Assert.That(ns.Name, Is.EqualTo($"{lab.Prefix}-node1"));
        Assert.That(ns.Path, Is.EqualTo($"/run/netns/{lab.Prefix}-node1"));
        Assert.That(File.Exists(ns.Path), Is.True);
        Assert.That(lab.Namespaces, Is.EqualTo(new[] { ns }));
        Assert.That(NetworkLab.ListNamespaceNames(), Does.Contain(ns.Name));
        Assert.That(ns.ExecChecked("ip", "-o", "link", "show").StdOut, Does.Not.Contain("eth0"), "a new namespace has only lo");
    }

    [Test]
    public void Default_veth_names_are_unique_and_fit_in_IFNAMSIZ()
    {
        var ns = lab.AddNamespace("names");

        var first = lab.AddVethPair(ns, ns);
        var second = lab.AddVethPair(ns, ns);

        string[] names = [first.NameA, first.NameB, second.NameA, second.NameB];
        Assert.That(names, Is.Unique);
        Assert.That(names.Select(n => n.Length), Has.All.LessThanOrEqualTo(15));
        Assert.That(ns.IpJson("link", "show").EnumerateArray().Select(l => l.GetProperty("ifname").GetString()), Is.SupersetOf(names));
    }

    [Test]
    public void A_veth_name_longer_than_15_characters_is_rejected()
    {
        var ns = lab.AddNamespace("long");

        Assert.Throws<ArgumentException>(() => lab.AddVethPair(ns, ns, "sixteen-chars-xx", "ok"));
    }

    [Test]
    public void A_started_process_runs_inside_the_namespace_and_its_output_is_captured()
    {
        var ns = lab.AddNamespace("proc");

        using var process = ns.Start("sh", ["-c", "echo \"hello $GREETING\"; echo oops >&2; ip netns identify"], new Dictionary<string, string> { ["GREETING"] = "world" });

        Assert.That(process.WaitForExit(10_000), Is.True);
        Assert.That(Poll.Until(() => process.Output.Contains(ns.Name, StringComparison.Ordinal)), Is.True, process.Output);
        Assert.That(process.Output, Does.Contain("hello world\n").And.Contain("oops\n"));
    }

    [Test]
    public void Dispose_removes_the_lab_namespaces_and_kills_the_processes_inside()
    {
        var a = lab.AddNamespace("a");
        var b = lab.AddNamespace("b");
        lab.AddVethPair(a, b);
        var started = a.Start("sleep", ["1000"]);
        var startedPid = started.Id;
        // A process the lab did not start itself: only `ip netns pids` can find it.
        var orphanPid = int.Parse(b.ExecChecked("sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!").StdOut.Trim(), CultureInfo.InvariantCulture);
        Assert.That(ProcessState.IsAlive(startedPid) && ProcessState.IsAlive(orphanPid), Is.True);
        Assert.That(NetworkLab.ListNamespaceNames().Count(n => n.StartsWith(lab.Prefix + "-", StringComparison.Ordinal)), Is.EqualTo(2));

        lab.Dispose();
        lab.Dispose();

        Assert.That(NetworkLab.ListNamespaceNames().Where(n => n.StartsWith(lab.Prefix + "-", StringComparison.Ordinal)), Is.Empty);
        Assert.That(Poll.Until(() => !ProcessState.IsAlive(startedPid) && !ProcessState.IsAlive(orphanPid)), Is.True);
        Assert.That(File.Exists(a.Path), Is.False);
    }

    [Test]
    public void The_sweeper_removes_a_namespace_named_after_a_dead_process_and_kills_what_runs_inside()
    {
        var deadPid = DeadPid.Find();
        var leftover = $"ovt{deadPid}x1-leftover";
        Shell.Run("ip", "netns", "add", leftover).EnsureSuccess();
        try
        {
            var sleeperPid = int.Parse(
                Shell.Run("ip", "netns", "exec", leftover, "sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo $!").EnsureSuccess().StdOut.Trim(),
                CultureInfo.InvariantCulture);

            using var next = NetworkLab.Create();

            Assert.That(NetworkLab.ListNamespaceNames(), Does.Not.Contain(leftover));
            Assert.That(Poll.Until(() => !ProcessState.IsAlive(sleeperPid)), Is.True);
        }
        finally
        {
            Shell.Run("ip", "netns", "delete", leftover);
        }
    }

    [Test]
    public void The_sweeper_leaves_namespaces_of_living_processes_alone()
    {
        // pid 1 always runs, so this looks exactly like a namespace of another test run still in progress.
        var living = "ovt1x999999-living";
        Shell.Run("ip", "netns", "add", living).EnsureSuccess();
        try
        {
            var swept = NetworkLab.SweepLeftovers();

            Assert.That(swept, Does.Not.Contain(living));
            Assert.That(NetworkLab.ListNamespaceNames(), Does.Contain(living));
        }
        finally
        {
            Shell.Run("ip", "netns", "delete", living).EnsureSuccess();
        }
    }
}

internal static class DeadPid
{
    /// <summary>A pid no process has right now, scanning down from pid_max where pids are rarely in use.</summary>
    public static int Find()
    {
        var pidMax = int.Parse(File.ReadAllText("/proc/sys/kernel/pid_max").Trim(), CultureInfo.InvariantCulture);
        for (var pid = pidMax - 1; pid > 1; pid--)
        {
            if (!Directory.Exists($"/proc/{pid}"))
            {
                return pid;
            }
        }
        throw new InvalidOperationException("no unused pid");
    }
}
