using Overlay.Daemon.Services;

namespace Overlay.Daemon.Tests.Services;

public class BridgeNetfilterTests
{
    private string _folder = "";

    [SetUp]
    public void CreateFolder() => _folder = Directory.CreateTempSubdirectory("overlay-bridge-nf-").FullName;

    [TearDown]
    public void RemoveFolder() => Directory.Delete(_folder, recursive: true);

    private void Sysctl(string name, string value) => File.WriteAllText(Path.Combine(_folder, name), value);

    private string Read(string name) => File.ReadAllText(Path.Combine(_folder, name)).Trim();

    [Test]
    public async Task Off_sysctls_are_switched_on_and_named()
    {
        Sysctl("bridge-nf-call-iptables", "0\n");
        Sysctl("bridge-nf-call-ip6tables", "0\n");

        IReadOnlyList<string> changed = await new BridgeNetfilter(_folder, modprobe: null).EnableAsync(ipv6: true, CancellationToken.None);

        Assert.That(changed, Is.EqualTo(new[] { "net.bridge.bridge-nf-call-iptables", "net.bridge.bridge-nf-call-ip6tables" }));
        Assert.That(Read("bridge-nf-call-iptables"), Is.EqualTo("1"));
        Assert.That(Read("bridge-nf-call-ip6tables"), Is.EqualTo("1"));
    }

    [Test]
    public async Task Single_stack_leaves_the_IPv6_sysctl_and_on_sysctls_alone()
    {
        Sysctl("bridge-nf-call-iptables", "1\n");
        Sysctl("bridge-nf-call-ip6tables", "0\n");

        IReadOnlyList<string> changed = await new BridgeNetfilter(_folder, modprobe: null).EnableAsync(ipv6: false, CancellationToken.None);

        Assert.That(changed, Is.Empty);
        Assert.That(Read("bridge-nf-call-ip6tables"), Is.EqualTo("0"));
    }

    [Test]
    public void Without_br_netfilter_the_error_says_what_to_load()
    {
        var missing = new BridgeNetfilter(Path.Combine(_folder, "absent"), modprobe: "/nonexistent/modprobe");

        Assert.That(async () => await missing.EnableAsync(ipv6: false, CancellationToken.None),
            Throws.TypeOf<BridgeNetfilterException>().With.Message.Contains("modprobe br_netfilter").And.Message.Contains("CONFIG_BRIDGE_NETFILTER"));
    }

    [Test]
    public void The_sysctls_of_this_namespace_exist_on_this_kernel()
    {
        Overlay.TestKit.Root.Require();

        Assert.That(File.Exists(Path.Combine(BridgeNetfilter.DefaultFolder, "bridge-nf-call-iptables")), Is.True,
            "br_netfilter is built in or loaded; the traffic tests rely on it");
    }
}
